package vaulttest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestLifecycle(t *testing.T) {
	s := vaulttest.Start(t)
	c := s.Client()
	if _, err := c.KVv2("secret").Put(context.Background(), "life", map[string]any{"k": "v"}); err != nil {
		t.Fatalf("writing to secret/: %v", err)
	}
	if len(s.UnsealKeys) != 3 || s.Token == "" {
		t.Fatalf("init gave %d keys and token %q; want 3 keys and a token", len(s.UnsealKeys), s.Token)
	}
	if fi, err := os.Stat(filepath.Join(s.Dir, "init.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("init.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Sys().SealStatus(); !st.Sealed {
		t.Fatal("Seal() left the server unsealed")
	}
	if err := s.Unseal(); err != nil {
		t.Fatal(err)
	}

	pid := s.PID()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.PID() == pid || alive(pid) {
		t.Fatalf("Restart() kept the old process %d", pid)
	}
	got, err := c.KVv2("secret").Get(context.Background(), "life")
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("after restart: %v, %v; want the secret written before", got, err)
	}

	pid = s.PID()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.Running() || alive(pid) {
		t.Fatalf("Kill() left process %d running", pid)
	}
	if err := s.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("a started-again server: %+v, %v; want it sealed", st, err)
	}
}

func TestUninitialised(t *testing.T) {
	s := vaulttest.Start(t, vaulttest.Options{NoInit: true})
	if s.Token != "" || len(s.UnsealKeys) != 0 {
		t.Fatal("an uninitialised server has keys")
	}
	inited, err := s.Client().Sys().InitStatus()
	if err != nil || inited {
		t.Fatalf("InitStatus() = %v, %v; want false", inited, err)
	}
}

// TestServerDiesWithTestBinary starts a server from a child process that
// then exits without cleaning up: the server must not outlive it.
func TestServerDiesWithTestBinary(t *testing.T) {
	if os.Getenv("VAULTTEST_ORPHAN_DIR") != "" {
		t.Skip("running as the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanChild$", "-test.v")
	cmd.Env = append(os.Environ(), "VAULTTEST_ORPHAN_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatalf("child wrote no pid: %v\n%s", err, out)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(15 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("vault %d outlived the process that started it", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOrphanChild is the child of TestServerDiesWithTestBinary.
func TestOrphanChild(t *testing.T) {
	dir := os.Getenv("VAULTTEST_ORPHAN_DIR")
	if dir == "" {
		t.Skip("only runs as a child of TestServerDiesWithTestBinary")
	}
	s, err := vaulttest.Launch(vaulttest.Options{NoInit: true, Dir: filepath.Join(dir, "server")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(fmt.Sprint(s.PID())), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Exit(0) // no Close, no cleanup: the parent-death signal must do it
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestStandby(t *testing.T) {
	leader := vaulttest.Start(t)
	if _, err := leader.Client().KVv2("secret").Put(context.Background(), "ha", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	standby := vaulttest.Start(t, vaulttest.Options{JoinTo: leader})
	h, err := standby.Client().Sys().Health()
	if err != nil || !h.Standby || h.Sealed {
		t.Fatalf("standby health = %+v, %v; want an unsealed standby", h, err)
	}
	// A standby forwards requests to the active node.
	got, err := standby.Client().KVv2("secret").Get(context.Background(), "ha")
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("reading through the standby: %v, %v", got, err)
	}
}
