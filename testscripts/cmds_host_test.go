package testscripts

// Commands that run a Debian host with systemd as PID 1 (lib/hosttest):
//
//	host-up [NAME]     boot a box (hostname NAME, default vps) with the freshly
//	                   built binaries in /opt/vaultpipe/bin (first on PATH),
//	                   scripts/, policies/ and systemd/ in /opt/vaultpipe, and
//	                   the Vault server binary at /opt/vaultpipe/vault (read-only);
//	                   only loopback inside; exports BOX_NAME. Scripts with
//	                   boxes run one at a time, and start with
//	                   [!box] skip 'boxes need root, systemd-nspawn and debootstrap'
//	                   ([box]: hosttest.Available, i.e. root and the tools).
//	host-exec [-b NAME] [-u USER] [-stdin FILE] [-exit N] PROG [ARGS...]
//	                   run PROG in the box (as root, or USER) with a clean
//	                   environment; stdout/stderr are kept for the next checks,
//	                   stdin comes from FILE (or the stdin command). -exit N:
//	                   PROG must exit with status N; ! host-exec: non-zero
//	host-reboot [-b NAME]
//	                   power the box off and boot it again on the same disk
//	host-fetch [-b NAME] PATH FILE
//	                   copy PATH (as the box sees it) to FILE in $WORK
//	host-down [-b NAME]
//	                   power the box off and remove it (done at the end of
//	                   every script anyway; the journal's tail is logged then
//	                   and shows when the script fails or with -v)
//
// -b picks a box by NAME when a script has several (default: the first).

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/hosttest"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func init() {
	conditions["box"] = func() (bool, error) { return hosttest.Available() == nil, nil }
	commands["host-up"] = cmdHostUp
	commands["host-exec"] = cmdHostExec
	commands["host-reboot"] = cmdHostReboot
	commands["host-fetch"] = cmdHostFetch
	commands["host-down"] = cmdHostDown
}

// boxSlot lets one script at a time run boxes: each runs a Vault and
// systemd, and the machine has two cores.
var boxSlot sync.Mutex

type hostState struct {
	boxes []*hosttest.Box
}

// hostStates holds each script's boxes (keyed by *testscript.TestScript).
var hostStates sync.Map

func hosts(ts *testscript.TestScript) *hostState {
	if st, ok := hostStates.Load(ts); ok {
		return st.(*hostState)
	}
	ts.Fatalf("no box: run host-up first")
	return nil
}

// box finds the box named by -b (or the first one).
func (st *hostState) box(ts *testscript.TestScript, name string) *hosttest.Box {
	for _, b := range st.boxes {
		if name == "" || strings.HasPrefix(b.Name(), name+"-") || b.Name() == name {
			return b
		}
	}
	ts.Fatalf("no box %q: run host-up %s first", name, name)
	return nil
}

func cmdHostUp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: host-up [NAME]")
	}
	if err := hosttest.Available(); err != nil {
		ts.Fatalf("host-up: %v (scripts start with: [!box] skip)", err)
	}
	name := "vps"
	if len(args) == 1 {
		name = args[0]
	}
	var st *hostState
	if v, ok := hostStates.Load(ts); ok {
		st = v.(*hostState)
	} else {
		boxSlot.Lock()
		st = &hostState{}
		hostStates.Store(ts, st)
		ts.Defer(func() {
			defer boxSlot.Unlock()
			defer hostStates.Delete(ts)
			for _, b := range st.boxes {
				closeBox(ts, b)
			}
		})
	}
	root, err := vaulttest.RepoRoot()
	ts.Check(err)
	copies := map[string]string{}
	entries, err := os.ReadDir(binDir)
	ts.Check(err)
	for _, e := range entries {
		if e.Name() != "vault" { // the server binary is bound read-only instead
			copies[filepath.Join(binDir, e.Name())] = "/opt/vaultpipe/bin/" + e.Name()
		}
	}
	for _, d := range []string{"scripts", "policies", "systemd"} {
		copies[filepath.Join(root, d)] = "/opt/vaultpipe/" + d
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := hosttest.Start(ctx, hosttest.Config{
		// Unique, so that boxes of other test processes never share a name.
		Name:   hosttest.UniqueName(name),
		Copy:   copies,
		BindRO: map[string]string{vaultBinary: "/opt/vaultpipe/vault"},
		Logf:   ts.Logf,
	})
	if err != nil {
		ts.Fatalf("host-up: %v", err)
	}
	st.boxes = append(st.boxes, b)
	ts.Setenv("BOX_NAME", b.Name())
}

func closeBox(ts *testscript.TestScript, b *hosttest.Box) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts.Logf("journal of box %s (tail):\n%s", b.Name(), b.Journal(ctx, 150))
	if err := b.Close(); err != nil {
		ts.Logf("host-down: %v", err)
	}
	// TestMain fails the run if anything is left (hosttest.CloseAll).
	if left := b.Leftovers(); len(left) > 0 {
		ts.Logf("box %s left behind:\n%s", b.Name(), strings.Join(left, "\n"))
	}
}

func cmdHostExec(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("host-exec", flag.ContinueOnError)
	name := fs.String("b", "", "box")
	user := fs.String("u", "", "user")
	stdin := fs.String("stdin", "", "file")
	want := fs.Int("exit", -1, "exit status")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 || (neg && *want >= 0) {
		ts.Fatalf("usage: host-exec [-b NAME] [-u USER] [-stdin FILE] [-exit N] PROG [ARGS...]")
	}
	b := hosts(ts).box(ts, *name)
	argv, err := b.Command(hosttest.Cmd{User: *user, Args: fs.Args()})
	ts.Check(err)
	if *stdin != "" {
		// Redirected by a host shell: custom commands cannot set the script's stdin.
		argv = append([]string{"sh", "-c", `f=$1; shift; exec "$@" <"$f"`, "sh", ts.MkAbs(*stdin)}, argv...)
	}
	got := 0
	if err := ts.Exec(argv[0], argv[1:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("host-exec: %v", err)
		}
		got = ee.ExitCode()
	}
	switch {
	case *want >= 0 && got != *want:
		ts.Fatalf("%s exited with status %d; want %d", fs.Arg(0), got, *want)
	case *want < 0 && neg && got == 0:
		ts.Fatalf("%s succeeded unexpectedly", fs.Arg(0))
	case *want < 0 && !neg && got != 0:
		ts.Fatalf("%s exited with status %d", fs.Arg(0), got)
	}
}

func boxFlag(ts *testscript.TestScript, cmd string, args []string, usage string) (*hosttest.Box, []string) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	name := fs.String("b", "", "box")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("usage: %s %s", cmd, usage)
	}
	return hosts(ts).box(ts, *name), fs.Args()
}

func cmdHostReboot(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-reboot", args, "[-b NAME]")
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: host-reboot [-b NAME]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.Reboot(ctx); err != nil {
		ts.Fatalf("host-reboot: %v", err)
	}
}

func cmdHostFetch(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-fetch", args, "[-b NAME] PATH FILE")
	if neg || len(rest) != 2 {
		ts.Fatalf("usage: host-fetch [-b NAME] PATH FILE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data, err := b.ReadFile(ctx, rest[0])
	if err != nil {
		ts.Fatalf("host-fetch: %v", err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(rest[1]), data, 0o600))
}

func cmdHostDown(ts *testscript.TestScript, neg bool, args []string) {
	b, rest := boxFlag(ts, "host-down", args, "[-b NAME]")
	if neg || len(rest) != 0 {
		ts.Fatalf("usage: host-down [-b NAME]")
	}
	st := hosts(ts)
	for i, x := range st.boxes {
		if x == b {
			st.boxes = append(st.boxes[:i], st.boxes[i+1:]...)
		}
	}
	closeBox(ts, b)
}
