package snapshot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
)

// Meta is the part of the archive's meta.json (a raft.SnapshotMeta) that
// vault-snap records.
type Meta struct {
	Version int    `json:"Version"`
	ID      string `json:"ID"`
	Index   uint64 `json:"Index"`
	Term    uint64 `json:"Term"`
	Size    int64  `json:"Size"`
}

// Archive is what reading a snapshot stream found.
type Archive struct {
	Meta Meta
	// Sums is the archive's own SHA256SUMS: member name → hex SHA-256.
	Sums map[string]string
	// Members lists the tar members in order, with their sizes.
	Members []Member
	// Sealed reports whether SHA256SUMS.sealed was present.
	Sealed bool
}

// Member is one file of the tar archive.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// CorruptError says why a stream is not a complete, intact snapshot.
type CorruptError struct {
	Reason string
}

func (e *CorruptError) Error() string { return "not an intact snapshot: " + e.Reason }

func corrupt(format string, args ...any) error {
	return &CorruptError{Reason: fmt.Sprintf(format, args...)}
}

const maxSmallMember = 64 << 10 // meta.json and the sums are a few hundred bytes

// ReadArchive decodes a snapshot stream (gzip, then tar) and checks every
// member against the archive's SHA256SUMS, in constant memory: state.bin is
// hashed as it streams past, never held. It reads r to its end, so a
// truncated or padded stream is an error.
func ReadArchive(r io.Reader) (*Archive, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, corrupt("gzip header: %v", err)
	}
	zr.Multistream(false)
	tr := tar.NewReader(zr)
	a := &Archive{}
	hashes := map[string]hash.Hash{}
	var sums, meta []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, corrupt("tar: %v", unexpected(err))
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, corrupt("tar member %q is not a regular file", hdr.Name)
		}
		h := sha256.New()
		var n int64
		switch hdr.Name {
		case "meta.json", "SHA256SUMS", "SHA256SUMS.sealed":
			if hdr.Size > maxSmallMember {
				return nil, corrupt("%s is %d bytes; at most %d expected", hdr.Name, hdr.Size, maxSmallMember)
			}
			var buf bytes.Buffer
			n, err = io.Copy(io.MultiWriter(&buf, h), tr)
			switch hdr.Name {
			case "meta.json":
				meta = buf.Bytes()
			case "SHA256SUMS":
				sums = buf.Bytes()
			default:
				a.Sealed = true
			}
		case "state.bin":
			n, err = io.Copy(h, tr)
		default:
			return nil, corrupt("unexpected member %q", hdr.Name)
		}
		if err != nil {
			return nil, corrupt("reading %s: %v", hdr.Name, unexpected(err))
		}
		if _, dup := hashes[hdr.Name]; dup {
			return nil, corrupt("member %q appears twice", hdr.Name)
		}
		hashes[hdr.Name] = h
		a.Members = append(a.Members, Member{Name: hdr.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	// The gzip trailer (CRC-32 and length) is checked when the stream ends.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, corrupt("gzip: %v", unexpected(err))
	}
	if err := zr.Close(); err != nil {
		return nil, corrupt("gzip: %v", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, corrupt("data after the end of the gzip stream")
	}
	if meta == nil {
		return nil, corrupt("no meta.json")
	}
	if _, ok := hashes["state.bin"]; !ok {
		return nil, corrupt("no state.bin")
	}
	if sums == nil {
		return nil, corrupt("no SHA256SUMS")
	}
	if err := json.Unmarshal(meta, &a.Meta); err != nil {
		return nil, corrupt("meta.json: %v", err)
	}
	parsed, err := ParseSums(sums)
	if err != nil {
		return nil, corrupt("SHA256SUMS: %v", err)
	}
	a.Sums = parsed
	for _, name := range []string{"meta.json", "state.bin"} {
		want, ok := parsed[name]
		if !ok {
			return nil, corrupt("SHA256SUMS has no line for %s", name)
		}
		if got := a.member(name).SHA256; got != want {
			return nil, corrupt("%s: SHA-256 %s, but SHA256SUMS says %s", name, got, want)
		}
	}
	for name := range parsed {
		if name != "meta.json" && name != "state.bin" {
			return nil, corrupt("SHA256SUMS names an unexpected file %q", name)
		}
	}
	if st := a.member("state.bin"); a.Meta.Size != 0 && st.Size != a.Meta.Size {
		return nil, corrupt("state.bin is %d bytes, meta.json says %d", st.Size, a.Meta.Size)
	}
	return a, nil
}

func (a *Archive) member(name string) Member {
	for _, m := range a.Members {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}

// unexpected names a stream that ends too early as truncation.
func unexpected(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated (unexpected end of data)")
	}
	return err
}

// ParseSums parses sha256sum-style lines: 64 hex digits, two spaces, a name.
func ParseSums(b []byte) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" || strings.ContainsAny(name, " \t/") {
			return nil, fmt.Errorf("line %d: want \"<sha256>  <name>\"", i+1)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("line %d: sha256 is not hex", i+1)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", i+1, name)
		}
		out[name] = strings.ToLower(sum)
	}
	return out, nil
}

// SortedSums returns sums as "sha256  name" lines in name order.
func SortedSums(sums map[string]string) []string {
	var lines []string
	for n, s := range sums {
		lines = append(lines, s+"  "+n)
	}
	sort.Strings(lines)
	return lines
}
