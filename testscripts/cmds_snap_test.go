package testscripts

// Harness commands for vault-snap's scripts:
//
//	vault-new          start a second, brand-new server (its own CA, keys and
//	                   root token) and export NEW_ADDR, NEW_CACERT, NEW_TOKEN
//	                   and NEW_INIT_FILE
//	kv-fill MOUNT PREFIX N SIZE
//	                   write N secrets of SIZE random bytes (base64) each to
//	                   MOUNT/PREFIX/i with the script's root token
//	stallproxy [-cut] N
//	                   a TCP proxy to $VAULT_ADDR that forwards N bytes from
//	                   the server, then stops forwarding (the connections stay
//	                   open; with -cut they are closed); exports STALL_ADDR
//	kill-on-stall PROG ARGS...
//	                   run PROG in the background and SIGKILL it once the
//	                   stallproxy has stalled
//	tmpfs DIR SIZE     mount a tmpfs of SIZE (e.g. 1m) on DIR, unmounted when
//	                   the script ends (needs root: use the [root] condition)

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func init() {
	commands["vault-new"] = cmdVaultNew
	commands["kv-fill"] = cmdKVFill
	commands["stallproxy"] = cmdStallProxy
	commands["kill-on-stall"] = cmdKillOnStall
	commands["tmpfs"] = cmdTmpfs
	conditions["root"] = func() (bool, error) { return os.Geteuid() == 0, nil }
}

type snapState struct {
	stalled chan struct{}
}

// snapStates holds each script's stallproxy (the Setup's Values map is not
// reachable from a command).
var (
	snapMu     sync.Mutex
	snapStates = map[*testscript.TestScript]*snapState{}
)

func snapStateOf(ts *testscript.TestScript) *snapState {
	snapMu.Lock()
	defer snapMu.Unlock()
	st := snapStates[ts]
	if st == nil {
		ts.Fatalf("kill-on-stall: run stallproxy first")
	}
	return st
}

func cmdVaultNew(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: vault-new")
	}
	s, err := vaulttest.Launch(vaulttest.Options{})
	if err != nil {
		ts.Fatalf("vault-new: %v", err)
	}
	ts.Defer(func() { s.Close() })
	ts.Setenv("NEW_ADDR", s.Addr)
	ts.Setenv("NEW_CACERT", s.CACert)
	ts.Setenv("NEW_TOKEN", s.Token)
	ts.Setenv("NEW_INIT_FILE", filepath.Join(s.Dir, "init.json"))
}

func cmdKVFill(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: kv-fill MOUNT PREFIX N SIZE")
	}
	n, err1 := strconv.Atoi(args[2])
	size, err2 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil {
		ts.Fatalf("kv-fill: N and SIZE must be numbers")
	}
	s := state(ts).vault
	if s == nil {
		ts.Fatalf("kv-fill: run vault-up first")
	}
	c := s.Client()
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		rand.Read(buf)
		path := fmt.Sprintf("%s/data/%s/%d", args[0], args[1], i)
		if _, err := c.Logical().Write(path, map[string]any{"data": map[string]any{"v": base64.StdEncoding.EncodeToString(buf)}}); err != nil {
			ts.Fatalf("kv-fill: writing %s: %v", path, err)
		}
	}
}

func cmdStallProxy(ts *testscript.TestScript, neg bool, args []string) {
	cut := len(args) == 2 && args[0] == "-cut"
	if cut {
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stallproxy [-cut] N")
	}
	limit, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		ts.Fatalf("stallproxy: bad N %q", args[0])
	}
	u, err := url.Parse(ts.Getenv("VAULT_ADDR"))
	if err != nil || u.Host == "" {
		ts.Fatalf("stallproxy: no VAULT_ADDR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("stallproxy: %v", err)
	}
	st := &snapState{stalled: make(chan struct{})}
	snapMu.Lock()
	snapStates[ts] = st
	snapMu.Unlock()
	var (
		mu        sync.Mutex
		forwarded int64
		once      sync.Once
		conns     []net.Conn
	)
	// take reserves up to n bytes of the budget.
	take := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		left := limit - forwarded
		if int64(n) > left {
			n = int(left)
		}
		forwarded += int64(n)
		return n
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", u.Host)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			go io.Copy(up, c)
			go func() {
				buf := make([]byte, 16<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						m := take(n)
						if m > 0 {
							c.Write(buf[:m])
						}
						if m < n {
							once.Do(func() { close(st.stalled) })
							if cut {
								c.Close()
								up.Close()
							}
							return // hold the connection open, forward nothing more
						}
					}
					if err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	ts.Defer(func() {
		snapMu.Lock()
		delete(snapStates, ts)
		snapMu.Unlock()
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	ts.Setenv("STALL_ADDR", "https://"+l.Addr().String())
}

func cmdKillOnStall(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: kill-on-stall PROG ARGS...")
	}
	st := snapStateOf(ts)
	path, err := exec.LookPath(args[0])
	if p := ts.Getenv("PATH"); err != nil || p != "" {
		for _, dir := range filepath.SplitList(p) {
			if fi, e := os.Stat(filepath.Join(dir, args[0])); e == nil && !fi.IsDir() {
				path, err = filepath.Join(dir, args[0]), nil
				break
			}
		}
	}
	if err != nil {
		ts.Fatalf("kill-on-stall: %v", err)
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	for _, k := range []string{"PATH", "HOME", "VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN", "TMPDIR"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	if err := cmd.Start(); err != nil {
		ts.Fatalf("kill-on-stall: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	select {
	case <-st.stalled:
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	case err := <-done:
		ts.Fatalf("kill-on-stall: %s ended before the proxy stalled (%v): raise the data or lower N", args[0], err)
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		ts.Fatalf("kill-on-stall: the proxy did not stall within 2 minutes")
	}
}

func cmdTmpfs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tmpfs DIR SIZE")
	}
	dir := ts.MkAbs(args[0])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ts.Fatalf("tmpfs: %v", err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+args[1]+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		ts.Fatalf("tmpfs: mount: %v\n%s", err, out)
	}
	ts.Defer(func() { exec.Command("umount", "-l", dir).Run() })
}
