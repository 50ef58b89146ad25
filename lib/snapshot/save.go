package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/sys/unix"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// SaveOptions configure Save.
type SaveOptions struct {
	Dir    string           // target directory (must exist)
	Prefix string           // file name prefix; "vault-" when empty
	Now    func() time.Time // clock; time.Now when nil
	// Recipients, when set, also get an age-encrypted copy NAME.snap.age,
	// written in the same pass. RecipientNames are recorded in the manifest.
	Recipients     []age.Recipient
	RecipientNames []string
	// NoKVCount skips counting KV secrets.
	NoKVCount bool
	// Verify checks the file as Verify does once it is written, and
	// records verified_at in its manifest.
	Verify bool
}

// Save streams a raft snapshot from Vault into o.Dir and writes its
// manifest. The data goes into an unnamed file (O_TMPFILE; a NAME.tmp file
// where the file system has none), is checked as it streams (gzip, tar,
// the archive's SHA256SUMS), fsynced and only then linked under its name,
// and the directory fsynced. A stream that ends early, a full disk or a
// killed process leave no file that looks finished, and never touch an
// existing snapshot.
func Save(ctx context.Context, vc *vaultclient.Client, o SaveOptions) (*Manifest, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	m, err := save(ctx, vc, o, now)
	if err != nil || !o.Verify {
		return m, err
	}
	// After the directory's lock is released, as a later verify would.
	p := filepath.Join(o.Dir, m.File)
	if _, _, err := Verify(p, VerifyOptions{}); err != nil {
		return nil, err
	}
	if err := MarkVerified(ManifestPath(p), now()); err != nil {
		return nil, err
	}
	return ReadManifest(ManifestPath(p))
}

func save(ctx context.Context, vc *vaultclient.Client, o SaveOptions, now func() time.Time) (*Manifest, error) {
	if o.Prefix == "" {
		o.Prefix = "vault-"
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removeStaleTemps(o.Dir)

	h, err := vc.Sys().HealthWithContext(ctx)
	if err != nil {
		return nil, vc.Classify(err, "reading", "sys/health")
	}
	if !h.Initialized {
		return nil, fault.New(fault.Uninitialized, "", "", errors.New("vault is not initialized"))
	}
	if h.Sealed {
		return nil, fault.New(fault.Sealed, "", "", errors.New("vault is sealed"))
	}
	m := &Manifest{Format: Format, VaultVersion: h.Version, ClusterID: h.ClusterID, ClusterName: h.ClusterName}
	if ss, err := vc.Sys().SealStatusWithContext(ctx); err == nil && ss.Type == "shamir" {
		m.SealShares, m.SealThreshold = ss.N, ss.T
	}
	m.RaftPeers = raftPeers(ctx, vc)
	var before map[string]int
	var denied []string
	if !o.NoKVCount {
		if before, denied, err = CountKV(ctx, vc); err != nil {
			m.KVCountsNote = "not counted: " + err.Error()
		}
	}

	m.CreatedAt = now().UTC().Truncate(time.Second)
	name := o.Prefix + m.CreatedAt.Format("20060102T150405Z") + Ext
	for i := 2; exists(filepath.Join(o.Dir, name)) || exists(filepath.Join(o.Dir, name+ManifestExt)); i++ {
		name = fmt.Sprintf("%s%s-%d%s", o.Prefix, m.CreatedAt.Format("20060102T150405Z"), i, Ext)
	}
	m.File = name
	final := filepath.Join(o.Dir, name)

	snap, err := newPending(o.Dir, final)
	if err != nil {
		return nil, err
	}
	defer snap.discard()
	var ageFile *pending
	var ageW io.WriteCloser
	if len(o.Recipients) > 0 {
		if ageFile, err = newPending(o.Dir, final+AgeExt); err != nil {
			return nil, err
		}
		defer ageFile.discard()
		if ageW, err = age.Encrypt(ageFile, o.Recipients...); err != nil {
			return nil, fmt.Errorf("starting age encryption: %w", err)
		}
	}

	resp, err := rawRequest(ctx, vc, http.MethodGet, "sys/storage/raft/snapshot", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	sum := sha256.New()
	pr, pw := io.Pipe()
	type result struct {
		a   *Archive
		err error
	}
	checked := make(chan result, 1)
	go func() {
		a, err := ReadArchive(pr)
		if err != nil {
			pr.CloseWithError(err)
		} else {
			io.Copy(io.Discard, pr)
		}
		checked <- result{a, err}
	}()
	sinks := []io.Writer{snap, sum, pw}
	if ageW != nil {
		sinks = append(sinks, ageW)
	}
	n, copyErr := io.Copy(io.MultiWriter(sinks...), resp.Body)
	pw.CloseWithError(copyErr)
	res := <-checked
	switch {
	case snap.writeErr != nil:
		return nil, fmt.Errorf("writing snapshot to %s: %w", o.Dir, bare(snap.writeErr))
	case ageFile != nil && ageFile.writeErr != nil:
		return nil, fmt.Errorf("writing the age copy to %s: %w", o.Dir, bare(ageFile.writeErr))
	case copyErr != nil && (res.err == nil || !errors.Is(copyErr, res.err)):
		return nil, fault.New(fault.Unreachable, "streaming", "sys/storage/raft/snapshot",
			fmt.Errorf("the stream broke after %d bytes: %w", n, copyErr))
	case res.err != nil:
		return nil, fault.New(fault.BadInput, "checking the stream from", "sys/storage/raft/snapshot", res.err)
	}
	a := res.a
	if !a.Sealed {
		return nil, fault.New(fault.BadInput, "checking the stream from", "sys/storage/raft/snapshot", errors.New("no SHA256SUMS.sealed: the snapshot is incomplete"))
	}
	m.Size, m.SHA256 = n, hex.EncodeToString(sum.Sum(nil))
	m.RaftIndex, m.RaftTerm, m.RaftID = a.Meta.Index, a.Meta.Term, a.Meta.ID
	m.SHA256Sums, m.Members = SortedSums(a.Sums), a.Members

	if before != nil {
		after, _, err := CountKV(ctx, vc)
		switch {
		case err != nil:
			m.KVCountsNote = "not counted: " + err.Error()
		case !equalCounts(before, after):
			m.KVCountsNote = "not recorded: secrets were written while the snapshot was taken"
		default:
			m.KVCounts = after
			if len(denied) > 0 {
				m.KVCountsNote = "not counted (permission denied): " + strings.Join(denied, ", ")
			}
		}
	}

	if ageW != nil {
		if err := ageW.Close(); err != nil {
			return nil, fmt.Errorf("finishing the age copy: %w", err)
		}
		m.Age = &AgeCopy{File: name + AgeExt, Size: ageFile.n, SHA256: hex.EncodeToString(ageFile.sum.Sum(nil)), Recipients: o.RecipientNames}
		if err := ageFile.commit(); err != nil {
			return nil, err
		}
	}
	if err := snap.commit(); err != nil {
		return nil, err
	}
	if err := WriteManifest(filepath.Join(o.Dir, name+ManifestExt), m); err != nil {
		// Without its manifest the file is unfinished: take it away again.
		os.Remove(final)
		if m.Age != nil {
			os.Remove(final + AgeExt)
		}
		return nil, fmt.Errorf("writing the manifest: %w", err)
	}
	return m, nil
}

// pending is a file being written that has no name until commit.
type pending struct {
	f        *os.File
	final    string
	tmpName  string // set when O_TMPFILE was not available
	n        int64
	sum      hash.Hash
	writeErr error
	done     bool
}

func newPending(dir, final string) (*pending, error) {
	p := &pending{final: final, sum: sha256.New()}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err == nil {
		p.f = os.NewFile(uintptr(fd), final+".tmp")
		return p, nil
	}
	// No O_TMPFILE on this file system: a named NAME.tmp, removed on any
	// failure (and by the next save if this process is killed).
	p.tmpName = final + ".tmp"
	f, err := os.OpenFile(p.tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", p.tmpName, err)
	}
	p.f = f
	return p, nil
}

func (p *pending) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.n += int64(n)
	p.sum.Write(b[:n])
	if err != nil && p.writeErr == nil {
		p.writeErr = err
	}
	return n, err
}

// commit fsyncs the file, gives it its name (never replacing a file) and
// fsyncs the directory.
func (p *pending) commit() error {
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", p.final, err)
	}
	if p.tmpName == "" {
		src := fmt.Sprintf("/proc/self/fd/%d", p.f.Fd())
		if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, p.final, unix.AT_SYMLINK_FOLLOW); err != nil {
			return fmt.Errorf("linking %s: %w", p.final, err)
		}
	} else {
		if exists(p.final) {
			return fmt.Errorf("%s exists already", p.final)
		}
		if err := os.Rename(p.tmpName, p.final); err != nil {
			return fmt.Errorf("renaming into %s: %w", p.final, err)
		}
	}
	p.done = true
	if err := p.f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p.final))
}

func (p *pending) discard() {
	if p.done {
		return
	}
	p.f.Close()
	if p.tmpName != "" {
		os.Remove(p.tmpName)
	}
}

// bare drops the *os.PathError around a write error: the file has no name
// yet, the directory is said by the caller.
func bare(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// removeStaleTemps removes NAME.snap.tmp files a killed save left behind
// on a file system without O_TMPFILE. Callers hold the directory lock.
func removeStaleTemps(dir string) {
	for _, pat := range []string{"*" + Ext + ".tmp", "*" + Ext + AgeExt + ".tmp"} {
		ms, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, m := range ms {
			os.Remove(m)
		}
	}
}

// lockDir takes an exclusive lock on dir/.vault-snap.lock, so that save and
// prune never run at once on one directory.
func lockDir(dir string) (func(), error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fault.New(fault.Usage, "opening snapshot directory", dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fault.New(fault.Usage, "opening snapshot directory", dir, errors.New("not a directory"))
	}
	f, err := os.OpenFile(filepath.Join(dir, ".vault-snap.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// CountKV counts the secrets of every KV mount: for KV v2 the keys listed
// recursively under MOUNT/metadata/ (a secret whose versions are all
// deleted still counts, as its metadata lives on), for KV v1 those under
// MOUNT/. It needs read on sys/mounts and list on the mounts' paths; a
// mount the token may not list is left out and named in denied.
func CountKV(ctx context.Context, vc *vaultclient.Client) (counts map[string]int, denied []string, err error) {
	mounts, err := vc.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return nil, nil, vc.Classify(err, "reading", "sys/mounts")
	}
	counts = map[string]int{}
	names := make([]string, 0, len(mounts))
	for n := range mounts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, mount := range names {
		mo := mounts[mount]
		if mo.Type != "kv" && mo.Type != "generic" {
			continue
		}
		base := mount
		if mo.Options["version"] == "2" {
			base = mount + "metadata/"
		}
		n, err := countTree(ctx, vc, base, "")
		if fault.Is(err, fault.Denied) {
			denied = append(denied, mount)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		counts[mount] = n
	}
	return counts, denied, nil
}

func countTree(ctx context.Context, vc *vaultclient.Client, base, prefix string) (int, error) {
	keys, err := vc.List(ctx, base+prefix)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			c, err := countTree(ctx, vc, base, prefix+k)
			if err != nil {
				return 0, err
			}
			n += c
		} else {
			n++
		}
	}
	return n, nil
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// raftPeers reads the raft membership; nil when it cannot.
func raftPeers(ctx context.Context, vc *vaultclient.Client) []RaftPeer {
	sec, err := vc.Logical().ReadWithContext(ctx, "sys/storage/raft/configuration")
	if err != nil || sec == nil {
		return nil
	}
	cfg, _ := sec.Data["config"].(map[string]any)
	servers, _ := cfg["servers"].([]any)
	var out []RaftPeer
	for _, s := range servers {
		m, _ := s.(map[string]any)
		p := RaftPeer{}
		p.NodeID, _ = m["node_id"].(string)
		p.Address, _ = m["address"].(string)
		p.Leader, _ = m["leader"].(bool)
		p.Voter, _ = m["voter"].(bool)
		out = append(out, p)
	}
	return out
}
