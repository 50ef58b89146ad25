package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	for _, p := range []string{fifo, dir, os.DevNull, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := Read(p, 1<<20); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), p) {
				t.Errorf("Read(%s) = %v; want ErrNotRegular naming the path", p, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Read(%s) blocked", p)
		}
	}
}

func TestReadCapsSize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(p, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("Read(p, 10) = %q, %v; want the content", b, err)
	}
	_, err := Read(p, 9)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "larger than 9 bytes") {
		t.Errorf("Read(p, 9) = %v; want TooLargeError", err)
	}
}

func TestReadFSOnDirFS(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.hcl"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "b.hcl"), 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	fsys := DirFS(dir)
	if b, err := ReadFS(fsys, "a.hcl", 1<<10); err != nil || string(b) != "x" {
		t.Errorf("ReadFS(a.hcl) = %q, %v; want x", b, err)
	}
	if _, err := ReadFS(fsys, "b.hcl", 1<<10); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFS(b.hcl) = %v; want ErrNotRegular", err)
	}
	if _, err := ReadFS(fsys, "../x", 1<<10); err == nil {
		t.Error("ReadFS(../x) succeeded; want an invalid path error")
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 20: "1 MiB", 64 << 10: "64 KiB", 3 << 30: "3 GiB", 1000: "1000 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q; want %q", n, got, want)
		}
	}
}
