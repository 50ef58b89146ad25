package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/textfile"
)

// StampFormat names archives: audit-20261201T194000.123456Z.log.zst sorts
// by time and Order reads a set in that order.
const StampFormat = "20060102T150405.000000Z"

// ArchiveConfig is one retention job.
type ArchiveConfig struct {
	Logs       []string      // live audit logs (the file_path of each file audit device)
	ArchiveDir string        // where .zst archives go (default: each log's directory)
	Retention  time.Duration // archives older than this are expired (default 90 days)
	ColdDir    string        // expired archives move here; deleted when empty
	NoRotate   bool          // only compress what was rotated before, and expire
	// Reopen makes Vault reopen its audit logs (SIGHUP, systemctl reload).
	Reopen func(ctx context.Context) error
	// PID, when set, is Vault's process: only its open files are checked
	// before a rotated log is compressed (else every process's are).
	PID         int
	WaitTimeout time.Duration // for Vault to let go of a rotated log (default 30s)
	Now         func() time.Time
}

// ArchiveReport says what one run did and what is kept.
type ArchiveReport struct {
	Rotated    []Rotated    `json:"rotated"`
	Compressed []Compressed `json:"compressed"`
	Expired    []Expired    `json:"expired"`
	Kept       []Kept       `json:"kept"`
}

// Rotated is a live log renamed aside.
type Rotated struct {
	Log   string `json:"log"`
	To    string `json:"to"`
	Bytes int64  `json:"bytes"`
}

// Compressed is a rotated log replaced by its verified zstd copy.
type Compressed struct {
	From            string `json:"from"`
	To              string `json:"to"`
	Bytes           int64  `json:"bytes"`
	CompressedBytes int64  `json:"compressed_bytes"`
}

// Expired is an archive past retention.
type Expired struct {
	File   string `json:"file"`
	Action string `json:"action"` // moved or deleted
	To     string `json:"to,omitempty"`
}

// Kept sums the archives of one log after the run.
type Kept struct {
	Log          string     `json:"log"`
	LiveBytes    int64      `json:"live_bytes"`
	Files        int        `json:"files"`
	Bytes        int64      `json:"bytes"`
	Oldest       *time.Time `json:"oldest,omitempty"`
	LastRotation *time.Time `json:"last_rotation,omitempty"`
}

type logSet struct {
	live, dir, archiveDir, prefix string
	re                            *regexp.Regexp
}

func newLogSet(live, archiveDir string) logSet {
	dir := filepath.Dir(live)
	base := filepath.Base(live)
	prefix := strings.TrimSuffix(base, ".log")
	if archiveDir == "" {
		archiveDir = dir
	}
	return logSet{live: live, dir: dir, archiveDir: archiveDir, prefix: prefix,
		re: regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-(\d{8}T\d{6}\.\d{6}Z)\.log(\.zst|\.gz)?$`)}
}

// stamp returns the time in an archive's name, if it is one of this set's.
func (s logSet) stamp(name string) (time.Time, string, bool) {
	m := s.re.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, "", false
	}
	t, err := time.Parse(StampFormat, m[1])
	return t, m[2], err == nil
}

// Archive runs one retention job: rotate each live log (rename, then
// Reopen), compress every rotated log Vault no longer holds open into a
// verified .zst, and expire archives past retention. A failure leaves every
// byte in place (at worst uncompressed); the next run carries on.
func Archive(ctx context.Context, cfg ArchiveConfig) (*ArchiveReport, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 30 * time.Second
	}
	rep := &ArchiveReport{Rotated: []Rotated{}, Compressed: []Compressed{}, Expired: []Expired{}, Kept: []Kept{}}
	var sets []logSet
	for _, l := range cfg.Logs {
		abs, err := filepath.Abs(l)
		if err != nil {
			return rep, err
		}
		sets = append(sets, newLogSet(abs, cfg.ArchiveDir))
	}
	for _, d := range []string{cfg.ArchiveDir, cfg.ColdDir} {
		if d != "" {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return rep, err
			}
		}
	}

	if !cfg.NoRotate {
		stamp := cfg.Now().UTC().Format(StampFormat)
		for _, s := range sets {
			fi, err := os.Stat(s.live)
			if errors.Is(err, os.ErrNotExist) || err == nil && fi.Size() == 0 {
				continue // nothing logged since the last rotation
			}
			if err != nil {
				return rep, err
			}
			to := filepath.Join(s.dir, s.prefix+"-"+stamp+".log")
			if _, err := os.Lstat(to); err == nil {
				return rep, fmt.Errorf("rotating %s: %s exists", s.live, to)
			}
			if err := os.Rename(s.live, to); err != nil {
				return rep, fmt.Errorf("rotating %s: %w", s.live, err)
			}
			syncDir(s.dir)
			rep.Rotated = append(rep.Rotated, Rotated{Log: s.live, To: to, Bytes: fi.Size()})
		}
		if len(rep.Rotated) > 0 {
			if cfg.Reopen == nil {
				return rep, errors.New("no way to make Vault reopen its audit log (give a pid or a reload command)")
			}
			if err := cfg.Reopen(ctx); err != nil {
				return rep, fmt.Errorf("making Vault reopen its audit logs: %w", err)
			}
		}
	}

	for _, s := range sets {
		ents, err := os.ReadDir(s.dir)
		if err != nil {
			return rep, err
		}
		for _, e := range ents {
			if _, ext, ok := s.stamp(e.Name()); !ok || ext != "" || !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(s.dir, e.Name())
			if err := waitClosed(ctx, p, cfg.PID, cfg.WaitTimeout); err != nil {
				return rep, err
			}
			c, err := compress(p, filepath.Join(s.archiveDir, e.Name()+".zst"))
			if err != nil {
				return rep, fmt.Errorf("compressing %s: %w", p, err)
			}
			rep.Compressed = append(rep.Compressed, c)
		}
	}

	now := cfg.Now()
	seen := map[string]bool{}
	for _, s := range sets {
		k := Kept{Log: s.live}
		if fi, err := os.Stat(s.live); err == nil {
			k.LiveBytes = fi.Size()
		}
		ents, err := os.ReadDir(s.archiveDir)
		if err != nil {
			return rep, err
		}
		for _, e := range ents {
			t, ext, ok := s.stamp(e.Name())
			p := filepath.Join(s.archiveDir, e.Name())
			if !ok || ext == "" || seen[p] {
				continue
			}
			seen[p] = true
			fi, err := e.Info()
			if err != nil {
				return rep, err
			}
			if now.Sub(t) > cfg.Retention {
				x, err := expire(p, cfg.ColdDir)
				if err != nil {
					return rep, err
				}
				rep.Expired = append(rep.Expired, x)
				continue
			}
			k.Files++
			k.Bytes += fi.Size()
			if t := t; k.Oldest == nil || t.Before(*k.Oldest) {
				k.Oldest = &t
			}
			if t := t; k.LastRotation == nil || t.After(*k.LastRotation) {
				k.LastRotation = &t
			}
		}
		rep.Kept = append(rep.Kept, k)
	}
	return rep, nil
}

// waitClosed waits until no process (or only pid, when set) holds path
// open: Vault has reopened its log and writes no more to the rotated file.
func waitClosed(ctx context.Context, path string, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		open, err := heldOpen(path, pid)
		if err != nil {
			return err
		}
		if !open {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is still open after %s: Vault did not reopen its audit log (left uncompressed for the next run)", path, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func heldOpen(path string, pid int) (bool, error) {
	var pids []string
	if pid > 0 {
		pids = []string{fmt.Sprint(pid)}
	} else {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return false, err
		}
		for _, e := range ents {
			if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
				pids = append(pids, e.Name())
			}
		}
	}
	for _, p := range pids {
		dir := filepath.Join("/proc", p, "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			if pid > 0 {
				return false, fmt.Errorf("checking Vault's open files: %w", err)
			}
			continue // gone, or not ours to see
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == path {
				return true, nil
			}
		}
	}
	return false, nil
}

// compress writes src as a zstd file dst (temp file, fsync, rename), checks
// it decodes to exactly src's bytes, and only then removes src.
func compress(src, dst string) (Compressed, error) {
	c := Compressed{From: src, To: dst}
	in, err := os.Open(src)
	if err != nil {
		return c, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return c, err
	}
	c.Bytes = fi.Size()
	if _, err := os.Lstat(dst); err == nil {
		return c, fmt.Errorf("%s exists", dst)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return c, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return c, err
	}
	enc, err := zstd.NewWriter(tmp, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return c, err
	}
	if _, err := io.Copy(enc, in); err != nil {
		enc.Close()
		return c, err
	}
	if err := enc.Close(); err != nil {
		return c, err
	}
	if err := tmp.Sync(); err != nil {
		return c, err
	}
	if err := sameBytes(tmp.Name(), src); err != nil {
		return c, fmt.Errorf("verifying %s: %w", dst, err)
	}
	if fi2, err := os.Stat(src); err != nil || fi2.Size() != c.Bytes {
		return c, fmt.Errorf("%s changed while it was compressed", src)
	}
	zfi, err := tmp.Stat()
	if err != nil {
		return c, err
	}
	c.CompressedBytes = zfi.Size()
	if err := os.Link(tmp.Name(), dst); err != nil { // never replaces an existing archive
		return c, err
	}
	syncDir(filepath.Dir(dst))
	if err := os.Remove(src); err != nil {
		return c, err
	}
	syncDir(filepath.Dir(src))
	return c, nil
}

// sameBytes checks that the zstd file z decodes to exactly plain's content.
func sameBytes(z, plain string) error {
	zf, err := os.Open(z)
	if err != nil {
		return err
	}
	defer zf.Close()
	d, err := zstd.NewReader(zf)
	if err != nil {
		return err
	}
	defer d.Close()
	pf, err := os.Open(plain)
	if err != nil {
		return err
	}
	defer pf.Close()
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		na, ea := io.ReadFull(d, a)
		nb, eb := io.ReadFull(pf, b)
		if na != nb || !bytes.Equal(a[:na], b[:nb]) {
			return fmt.Errorf("content differs near byte %d", off)
		}
		off += int64(na)
		aEnd := ea == io.EOF || ea == io.ErrUnexpectedEOF
		bEnd := eb == io.EOF || eb == io.ErrUnexpectedEOF
		if ea != nil && !aEnd {
			return ea
		}
		if eb != nil && !bEnd {
			return eb
		}
		if aEnd || bEnd {
			if aEnd != bEnd {
				return fmt.Errorf("lengths differ after byte %d", off)
			}
			return nil
		}
	}
}

// expire moves p into cold (or deletes it when cold is empty).
func expire(p, cold string) (Expired, error) {
	if cold == "" {
		if err := os.Remove(p); err != nil {
			return Expired{}, err
		}
		syncDir(filepath.Dir(p))
		return Expired{File: p, Action: "deleted"}, nil
	}
	to := filepath.Join(cold, filepath.Base(p))
	if _, err := os.Lstat(to); err == nil {
		return Expired{}, fmt.Errorf("expiring %s: %s exists", p, to)
	}
	err := os.Rename(p, to)
	if errors.Is(err, syscall.EXDEV) {
		err = copyThenRemove(p, to)
	}
	if err != nil {
		return Expired{}, fmt.Errorf("moving %s to %s: %w", p, cold, err)
	}
	syncDir(cold)
	syncDir(filepath.Dir(p))
	return Expired{File: p, Action: "moved", To: to}, nil
}

func copyThenRemove(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := safefile.WriteFunc(dst, 0o600, func(w io.Writer) error { _, err := io.Copy(w, in); return err }); err != nil {
		return err
	}
	a, errA := os.Stat(src)
	b, errB := os.Stat(dst)
	if errA != nil || errB != nil || a.Size() != b.Size() {
		return fmt.Errorf("copy of %s has the wrong size", src)
	}
	return os.Remove(src)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Metrics renders rep for node_exporter's textfile collector.
func Metrics(rep *ArchiveReport, now time.Time) *textfile.Set {
	var s textfile.Set
	kept := append([]Kept(nil), rep.Kept...)
	sort.Slice(kept, func(i, j int) bool { return kept[i].Log < kept[j].Log })
	for _, k := range kept {
		s.Gauge("vaultpipe_audit_archive_bytes", "Bytes of kept compressed audit archives.", float64(k.Bytes), "log", k.Log)
	}
	for _, k := range kept {
		s.Gauge("vaultpipe_audit_archive_files", "Kept compressed audit archives.", float64(k.Files), "log", k.Log)
	}
	for _, k := range kept {
		s.Gauge("vaultpipe_audit_live_bytes", "Bytes of the live audit log.", float64(k.LiveBytes), "log", k.Log)
	}
	for _, k := range kept {
		if k.Oldest != nil {
			s.Gauge("vaultpipe_audit_archive_oldest_timestamp_seconds", "Rotation time of the oldest kept archive.", float64(k.Oldest.Unix()), "log", k.Log)
		}
	}
	for _, k := range kept {
		if k.LastRotation != nil {
			s.Gauge("vaultpipe_audit_archive_last_rotation_timestamp_seconds", "Time of the last rotation.", float64(k.LastRotation.Unix()), "log", k.Log)
		}
	}
	s.Gauge("vaultpipe_audit_archive_expired", "Archives expired by the last run.", float64(len(rep.Expired)))
	s.Gauge("vaultpipe_audit_archive_last_success_timestamp_seconds", "Time of the last successful run.", float64(now.Unix()))
	return &s
}

// WriteMetrics writes Metrics(rep) to path atomically.
func WriteMetrics(path string, rep *ArchiveReport, now time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return Metrics(rep, now).WriteFile(path)
}
