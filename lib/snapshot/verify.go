package snapshot

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// VerifyReport is what verify found.
type VerifyReport struct {
	File            string   `json:"file"`
	Manifest        string   `json:"manifest"`
	OK              bool     `json:"ok"`
	Encrypted       bool     `json:"encrypted"`
	ContentsChecked bool     `json:"contents_checked"`
	Size            int64    `json:"size"`
	SHA256          string   `json:"sha256"`
	RaftIndex       uint64   `json:"raft_index,omitempty"`
	RaftTerm        uint64   `json:"raft_term,omitempty"`
	Members         []Member `json:"members,omitempty"`
	Error           string   `json:"error,omitempty"`
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Manifest   string         // manifest path; beside the file when empty
	Identities []age.Identity // to check the contents of an age copy
}

// Verify checks a snapshot file offline, without Vault, in one streaming
// pass in constant memory: its size and SHA-256 against the manifest, the
// gzip and tar framing, every member against the archive's own SHA256SUMS,
// and those sums and the raft index against the manifest. An age copy is
// checked against the manifest's age entry, and, given identities,
// decrypted and checked the same way. The error is a BadInput fault naming
// the file and what is wrong.
func Verify(path string, o VerifyOptions) (*VerifyReport, *Manifest, error) {
	rep := &VerifyReport{File: path, Manifest: o.Manifest}
	if rep.Manifest == "" {
		rep.Manifest = ManifestPath(path)
	}
	fail := func(err error) (*VerifyReport, *Manifest, error) {
		rep.OK = false
		rep.Error = err.Error()
		return rep, nil, fault.New(fault.BadInput, "verifying", path, err)
	}
	m, err := ReadManifest(rep.Manifest)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("no manifest %s: only snapshots vault-snap saved can be verified", rep.Manifest))
		}
		return fail(err)
	}
	f, err := safefile.Open(path)
	if err != nil {
		return fail(errors.Unwrap(err))
	}
	defer f.Close()

	base := filepath.Base(path)
	rep.Encrypted = strings.HasSuffix(base, AgeExt)
	fileSum := sha256.New()
	counted := &countingReader{r: io.TeeReader(bufio.NewReaderSize(f, 256<<10), fileSum)}
	var plain io.Reader = counted
	wantSize, wantSum := m.Size, m.SHA256
	if rep.Encrypted {
		if m.Age == nil || m.Age.File != base {
			return fail(fmt.Errorf("the manifest records no age copy named %s", base))
		}
		wantSize, wantSum = m.Age.Size, m.Age.SHA256
		if len(o.Identities) == 0 {
			if _, err := io.Copy(io.Discard, counted); err != nil {
				return fail(err)
			}
		} else {
			dr, err := age.Decrypt(counted, o.Identities...)
			if err != nil {
				return fail(fmt.Errorf("age: %w", err))
			}
			plain = dr
		}
	} else if m.File != base {
		return fail(fmt.Errorf("the manifest is for %s", m.File))
	}

	if !rep.Encrypted || len(o.Identities) > 0 {
		plainSum := sha256.New()
		pc := &countingReader{r: io.TeeReader(plain, plainSum)}
		a, err := ReadArchive(pc)
		if err != nil {
			return fail(err)
		}
		if _, err := io.Copy(io.Discard, counted); err != nil { // the rest of an age stream
			return fail(err)
		}
		if got := hex.EncodeToString(plainSum.Sum(nil)); pc.n != m.Size || got != m.SHA256 {
			return fail(fmt.Errorf("the snapshot is %d bytes with SHA-256 %s; the manifest says %d bytes, %s", pc.n, got, m.Size, m.SHA256))
		}
		if got := SortedSums(a.Sums); strings.Join(got, "\n") != strings.Join(m.SHA256Sums, "\n") {
			return fail(errors.New("the archive's SHA256SUMS differ from the manifest's"))
		}
		if a.Meta.Index != m.RaftIndex || a.Meta.Term != m.RaftTerm {
			return fail(fmt.Errorf("raft index/term %d/%d; the manifest says %d/%d", a.Meta.Index, a.Meta.Term, m.RaftIndex, m.RaftTerm))
		}
		rep.ContentsChecked = true
		rep.RaftIndex, rep.RaftTerm, rep.Members = a.Meta.Index, a.Meta.Term, a.Members
	}
	rep.Size, rep.SHA256 = counted.n, hex.EncodeToString(fileSum.Sum(nil))
	if rep.Size != wantSize || rep.SHA256 != wantSum {
		return fail(fmt.Errorf("the file is %d bytes with SHA-256 %s; the manifest says %d bytes, %s", rep.Size, rep.SHA256, wantSize, wantSum))
	}
	rep.OK = true
	return rep, m, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// open returns the plain snapshot stream of path, decrypting an age copy.
func open(path string, ids []age.Identity) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, AgeExt) {
		return f, nil
	}
	if len(ids) == 0 {
		f.Close()
		return nil, fault.Usagef("%s is age-encrypted: pass --age-identity", path)
	}
	dr, err := age.Decrypt(bufio.NewReaderSize(f, 256<<10), ids...)
	if err != nil {
		f.Close()
		return nil, fault.New(fault.BadInput, "decrypting", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{dr, f}, nil
}
