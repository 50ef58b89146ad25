// Package testscripts runs vaultpipe's end-to-end scripts: each *.txtar file
// in this directory is a testscript (github.com/rogpeppe/go-internal) that
// runs the real binaries of cmd/ against real Vault servers.
//
// Every binary of cmd/ is built once into a temporary directory put first on
// $PATH, next to the `vault` CLI of the server binary lib/vaulttest uses;
// scripts/ comes next.
// Scripts must call binaries with `exec`.
//
// Custom commands (see commands below):
//
//	vault-up [-uninit] [-sealed] [-shares N] [-threshold N]
//	                   start a real Vault server (TLS, raft) for this script and
//	                   export VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN (root) and
//	                   VAULT_INIT_FILE (0600 JSON with unseal_keys_b64)
//	vault-standby      start a second server that joins the first one's raft
//	                   cluster as an unsealed standby; exports STANDBY_ADDR
//	vault-seal         seal it
//	vault-unseal       unseal it with a threshold of its keys
//	vault-stop         stop it gracefully (SIGTERM)
//	vault-kill         kill it (SIGKILL)
//	vault-start        start it again after stop/kill (it comes up sealed)
//	vault-restart      stop, start and unseal it
//	vault-pid          export VAULT_PID, the server's process id (cmds_audit_test.go)
//	no-secret VALUE FILE...
//	                   fail if any FILE (or stdout/stderr) contains VALUE
//	filemode MODE FILE check FILE's permission bits (octal, e.g. 0600)
//	blackhole          listen on 127.0.0.1 and never answer; exports BLACKHOLE_ADDR
//	exits N PROG ARGS...
//	                   like exec, but PROG must exit with status N (stdout and
//	                   stderr are kept for the next checks); exits killed PROG:
//	                   PROG must die of SIGKILL (a fault injector's kill)
//	exits-start NAME PROG ARGS... / exits-wait NAME N[,N...]
//	                   the same in the background, for a run during which the
//	                   server is killed (see cmds_exits_test.go)
//	host-up, host-exec, host-reboot, host-fetch, host-put, host-down
//	                   boot a Debian host with systemd as PID 1 (a
//	                   systemd-nspawn box, loopback only) and run commands
//	                   in it; see cmds_host_test.go
//
// Run one script with: go test ./testscripts -run TestScripts/<name>
// and update golden files with -update.
package testscripts

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/hosttest"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

var update = flag.Bool("update", false, "update golden files embedded in scripts")

// binDir holds the freshly built binaries; scriptsDir is the repository's
// scripts/ (shell glue is tested like the binaries).
var binDir, scriptsDir string

// vaultBinary is the Vault server binary of every script.
var vaultBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		dir, err := os.MkdirTemp("", "vaultpipe-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		if err := buildBinaries(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer vaulttest.KillAll()
		code := m.Run()
		if left := hosttest.CloseAll(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "testscripts: boxes left behind:\n%s\n", strings.Join(left, "\n"))
			return 1
		}
		return code
	}()
	os.Exit(code)
}

// buildBinaries builds every cmd/ binary into dir, and links the Vault CLI.
// When the combined build fails, each binary is built on its own so that the
// scripts of the others still run; a script using a binary that did not
// build fails with "executable file not found".
func buildBinaries(dir string) error {
	root, err := vaulttest.RepoRoot()
	if err != nil {
		return err
	}
	scriptsDir = filepath.Join(root, "scripts")
	build := func(pkg string) ([]byte, error) {
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), pkg)
		cmd.Dir = root
		return cmd.CombinedOutput()
	}
	if out, err := build("./cmd/..."); err != nil {
		fmt.Fprintf(os.Stderr, "testscripts: building cmd/... failed; building each binary alone:\n%s", out)
		entries, _ := os.ReadDir(filepath.Join(root, "cmd"))
		for _, e := range entries {
			if out, err := build("./cmd/" + e.Name()); err != nil {
				fmt.Fprintf(os.Stderr, "testscripts: %s does not build:\n%s", e.Name(), out)
			}
		}
	}
	bin, err := vaulttest.Binary()
	if err != nil {
		return err
	}
	vaultBinary = bin
	return os.Symlink(bin, filepath.Join(dir, "vault"))
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 ".",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds:                commands,
		Condition:           condition,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", strings.Join([]string{binDir, scriptsDir, env.Getenv("PATH")}, string(os.PathListSeparator)))
			home := filepath.Join(env.WorkDir, ".home")
			if err := os.MkdirAll(home, 0o700); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			// With HOME moved, scripts/vault-binary would not find its cache
			// and start a 20-minute build: point it at the binary in use.
			env.Setenv("VAULT_BINARY", vaultBinary)
			if root, err := vaulttest.RepoRoot(); err == nil {
				env.Setenv("REPO_ROOT", root) // docs/, policies/, systemd/ of this checkout
			}
			st := &scriptState{}
			env.Values[stateKey{}] = st
			env.Defer(st.close)
			return nil
		},
	})
}

type stateKey struct{}

// scriptState is what custom commands share within one script.
type scriptState struct {
	vault   *vaulttest.Server
	standby *vaulttest.Server
}

func (st *scriptState) close() {
	if st.standby != nil {
		st.standby.Close()
	}
	if st.vault != nil {
		st.vault.Close()
	}
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

// conditions are extra [NAME] conditions; other files of this package add
// theirs in init functions.
var conditions = map[string]func() (bool, error){}

// condition adds [vault-flavor:NAME] (VAULT_FLAVOR, default vault) and the
// conditions registered in conditions.
func condition(cond string) (bool, error) {
	if f, ok := conditions[cond]; ok {
		return f()
	}
	if name, ok := strings.CutPrefix(cond, "vault-flavor:"); ok {
		flavor := os.Getenv("VAULT_FLAVOR")
		if flavor == "" {
			flavor = "vault"
		}
		return flavor == name, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// commands are the custom script commands; other files of this package add
// theirs in init functions.
var commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"vault-up":      cmdVaultUp,
	"vault-standby": cmdVaultStandby,
	"vault-seal":    serverCmd("seal", (*vaulttest.Server).Seal),
	"vault-unseal":  serverCmd("unseal", (*vaulttest.Server).Unseal),
	"vault-stop":    serverCmd("stop", (*vaulttest.Server).Stop),
	"vault-kill":    serverCmd("kill", (*vaulttest.Server).Kill),
	"vault-start":   serverCmd("start", (*vaulttest.Server).StartAgain),
	"vault-restart": serverCmd("restart", (*vaulttest.Server).Restart),
	"no-secret":     cmdNoSecret,
	"filemode":      cmdFileMode,
	"blackhole":     cmdBlackhole,
	"exits":         cmdExits,
}

func cmdVaultUp(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! vault-up")
	}
	fs := flag.NewFlagSet("vault-up", flag.ContinueOnError)
	var o vaulttest.Options
	fs.BoolVar(&o.NoInit, "uninit", false, "leave uninitialised")
	fs.BoolVar(&o.Sealed, "sealed", false, "initialise but leave sealed")
	fs.IntVar(&o.Shares, "shares", 0, "key shares")
	fs.IntVar(&o.Threshold, "threshold", 0, "unseal threshold")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("vault-up: %v", err)
	}
	st := state(ts)
	if st.vault != nil {
		ts.Fatalf("vault-up: a server is already up in this script")
	}
	s, err := vaulttest.Launch(o)
	if err != nil {
		ts.Fatalf("vault-up: %v", err)
	}
	st.vault = s
	ts.Setenv("VAULT_ADDR", s.Addr)
	ts.Setenv("VAULT_CACERT", s.CACert)
	ts.Setenv("VAULT_TOKEN", s.Token)
	ts.Setenv("VAULT_INIT_FILE", filepath.Join(s.Dir, "init.json"))
	ts.Setenv("VAULT_LOG", s.LogPath)
}

func cmdVaultStandby(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: vault-standby")
	}
	st := state(ts)
	if st.vault == nil || st.standby != nil {
		ts.Fatalf("vault-standby: needs one vault-up first, and only one standby")
	}
	s, err := vaulttest.Launch(vaulttest.Options{JoinTo: st.vault})
	if err != nil {
		ts.Fatalf("vault-standby: %v", err)
	}
	st.standby = s
	ts.Setenv("STANDBY_ADDR", s.Addr)
}

func serverCmd(name string, f func(*vaulttest.Server) error) func(*testscript.TestScript, bool, []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 0 {
			ts.Fatalf("usage: vault-%s", name)
		}
		s := state(ts).vault
		if s == nil {
			ts.Fatalf("vault-%s: no server; run vault-up first", name)
		}
		if err := f(s); err != nil {
			ts.Fatalf("vault-%s: %v\n%s", name, err, s.LogTail(20))
		}
	}
}

// cmdNoSecret fails if VALUE occurs in any of the named files; "stdout" and
// "stderr" name the last command's output.
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: no-secret VALUE FILE...")
	}
	value := args[0]
	if len(value) < 6 {
		ts.Fatalf("no-secret: a canary shorter than 6 bytes would match by chance")
	}
	for _, name := range args[1:] {
		if strings.Contains(ts.ReadFile(name), value) {
			ts.Fatalf("no-secret: %s contains the planted secret", name)
		}
	}
}

// cmdFileMode checks a file's permission bits.
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode MODE FILE")
	}
	var want os.FileMode
	if _, err := fmt.Sscanf(args[0], "%o", &want); err != nil {
		ts.Fatalf("filemode: bad mode %q", args[0])
	}
	fi, err := os.Stat(ts.MkAbs(args[1]))
	if err != nil {
		ts.Fatalf("filemode: %v", err)
	}
	got := fi.Mode().Perm()
	if (got == want) == neg {
		ts.Fatalf("filemode %s: mode is %#o", args[1], got)
	}
}

// cmdBlackhole starts a listener that accepts connections and never answers,
// to show that clients give up within their timeouts.
func cmdBlackhole(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: blackhole")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("blackhole: %v", err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	ts.Setenv("BLACKHOLE_ADDR", l.Addr().String())
}

// cmdExits runs a program like exec and checks its exit status.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N|killed PROG [ARGS...]")
	}
	killed := args[0] == "killed"
	want, err := strconv.Atoi(args[0])
	if err != nil && !killed {
		ts.Fatalf("exits: bad status %q", args[0])
	}
	got, sig := 0, ""
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig = ws.Signal().String()
		}
	}
	switch {
	case killed && sig != syscall.SIGKILL.String():
		ts.Fatalf("%s exited with status %d (signal %q); want it killed (SIGKILL)", args[1], got, sig)
	case !killed && got != want:
		ts.Fatalf("%s exited with status %d; want %d", args[1], got, want)
	}
}
