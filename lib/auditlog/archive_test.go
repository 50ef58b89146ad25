package auditlog

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/textfile"
)

func TestArchiveRotatesCompressesExpires(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "audit.log")
	arch := filepath.Join(dir, "archive")
	cold := filepath.Join(dir, "cold")
	content := strings.Join(sample(), "\n") + "\n"
	if err := os.WriteFile(live, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(arch, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	old := filepath.Join(arch, "audit-"+now.Add(-91*24*time.Hour).Format(StampFormat)+".log.zst")
	recent := filepath.Join(arch, "audit-"+now.Add(-89*24*time.Hour).Format(StampFormat)+".log.zst")
	other := filepath.Join(arch, "audit-secondary-"+now.Add(-200*24*time.Hour).Format(StampFormat)+".log.zst")
	for _, p := range []string{old, recent, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reopened := 0
	rep, err := Archive(context.Background(), ArchiveConfig{Logs: []string{live}, ArchiveDir: arch, ColdDir: cold,
		PID: os.Getpid(), Reopen: func(context.Context) error { reopened++; return nil }, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if reopened != 1 || len(rep.Rotated) != 1 || len(rep.Compressed) != 1 || len(rep.Expired) != 1 {
		t.Fatalf("Archive = %+v (reopened %d); want one rotation, compression and expiry", rep, reopened)
	}
	z := rep.Compressed[0].To
	if filepath.Dir(z) != arch || !strings.HasSuffix(z, ".log.zst") {
		t.Errorf("archive at %s", z)
	}
	f, err := os.Open(z)
	if err != nil {
		t.Fatal(err)
	}
	r, release, err := Decompress(f)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	release()
	f.Close()
	if string(got) != content {
		t.Errorf("archive decodes to %d bytes; want the %d of the log", len(got), len(content))
	}
	if _, err := os.Stat(rep.Rotated[0].To); !os.IsNotExist(err) {
		t.Errorf("rotated plain file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cold, filepath.Base(old))); err != nil {
		t.Errorf("expired archive not in cold dir: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another log's archive was touched: %v", err)
	}
	k := rep.Kept[0]
	if k.Files != 2 || k.Oldest == nil || !k.Oldest.Equal(now.Add(-89*24*time.Hour)) || !k.LastRotation.Equal(now) {
		t.Errorf("kept = %+v", k)
	}
	prom := filepath.Join(dir, "metrics", "audit.prom")
	if err := WriteMetrics(prom, rep, now); err != nil {
		t.Fatal(err)
	}
	if v, ok := textfile.Read(prom, "vaultpipe_audit_archive_files", "log", live); !ok || v != 2 {
		t.Errorf("archive_files = %v, %v; want 2", v, ok)
	}
	if v, ok := textfile.Read(prom, "vaultpipe_audit_archive_last_rotation_timestamp_seconds", "log", live); !ok || int64(v) != now.Unix() {
		t.Errorf("last_rotation = %v, %v; want %d", v, ok, now.Unix())
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		f, _ := os.Open(prom)
		defer f.Close()
		cmd.Stdin = f
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}

	// A second run with an empty live log rotates nothing.
	if err := os.WriteFile(live, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = Archive(context.Background(), ArchiveConfig{Logs: []string{live}, ArchiveDir: arch, ColdDir: cold, PID: os.Getpid(),
		Reopen: func(context.Context) error { reopened++; return nil }, Now: func() time.Time { return now.Add(time.Hour) }})
	if err != nil || len(rep.Rotated) != 0 || reopened != 1 {
		t.Fatalf("second run = %+v, %v (reopened %d)", rep, err, reopened)
	}
}

func TestArchiveWaitsForTheWriter(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "audit.log")
	f, err := os.OpenFile(live, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(sample()[0] + "\n")
	// Reopen does nothing: this process keeps writing to the rotated file.
	_, err = Archive(context.Background(), ArchiveConfig{Logs: []string{live}, PID: os.Getpid(), WaitTimeout: 200 * time.Millisecond,
		Reopen: func(context.Context) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "still open") {
		t.Fatalf("Archive = %v; want 'still open'", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".log") {
		t.Fatalf("files = %v; want the rotated log alone, uncompressed", ents)
	}
	// Once the writer lets go, the next run compresses it.
	f.Close()
	rep, err := Archive(context.Background(), ArchiveConfig{Logs: []string{live}, NoRotate: true, PID: os.Getpid()})
	if err != nil || len(rep.Compressed) != 1 {
		t.Fatalf("second run = %+v, %v", rep, err)
	}
}
