package testscripts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// Background runs whose exit status is checked, for scripts where something
// happens to the server while a binary runs:
//
//	exits-start NAME PROG ARGS...
//	                   start PROG in the background; its stdout and stderr
//	                   go to the files NAME.stdout and NAME.stderr
//	exits-wait NAME N[,N...]
//	                   wait for it; its exit status must be one of the Ns
//	                   (more than one only where the outcome races)
func init() {
	commands["exits-start"] = cmdExitsStart
	commands["exits-wait"] = cmdExitsWait
}

type bgKey string

type bgRun struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func cmdExitsStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits-start NAME PROG [ARGS...]")
	}
	name := args[0]
	// The script's environment, as its own commands see it.
	ts.Check(ts.Exec("env", "-0"))
	env := strings.Split(strings.TrimSuffix(ts.ReadFile("stdout"), "\x00"), "\x00")
	path, err := lookPath(args[1], env)
	if err != nil {
		ts.Fatalf("exits-start: %v", err)
	}
	if !filepath.IsAbs(path) {
		path = ts.MkAbs(path)
	}
	stdout, err := os.Create(ts.MkAbs(name + ".stdout"))
	ts.Check(err)
	stderr, err := os.Create(ts.MkAbs(name + ".stderr"))
	ts.Check(err)
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ts.Check(cmd.Start())
	r := &bgRun{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(r.done)
	}()
	ts.Defer(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
	})
	bgMu.Lock()
	bgRuns[bgKey(ts.Getenv("WORK")+"\x00"+name)] = r
	bgMu.Unlock()
}

var (
	bgMu   sync.Mutex
	bgRuns = map[bgKey]*bgRun{}
)

// lookPath finds prog on the PATH of env.
func lookPath(prog string, env []string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, kv := range env {
		if dirs, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range filepath.SplitList(dirs) {
				p := filepath.Join(d, prog)
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
					return p, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s: executable file not found in the script's $PATH", prog)
}

func cmdExitsWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: exits-wait NAME N[,N...]")
	}
	key := bgKey(ts.Getenv("WORK") + "\x00" + args[0])
	bgMu.Lock()
	r, ok := bgRuns[key]
	delete(bgRuns, key)
	bgMu.Unlock()
	if !ok {
		ts.Fatalf("exits-wait: no exits-start %s", args[0])
	}
	var want []int
	for _, s := range strings.Split(args[1], ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			ts.Fatalf("exits-wait: bad status %q", s)
		}
		want = append(want, n)
	}
	<-r.done
	got := 0
	if r.err != nil {
		var ee *exec.ExitError
		if !errors.As(r.err, &ee) {
			ts.Fatalf("exits-wait: %v", r.err)
		}
		got = ee.ExitCode()
	}
	if !slices.Contains(want, got) {
		ts.Fatalf("%s exited with status %d; want %s", args[0], got, args[1])
	}
	ts.Logf("%s exited with status %d", args[0], got)
}
