// The vaulttestd command runs one lib/vaulttest server for test suites that
// are not written in Go (dagster-vault's pytest fixtures), so every suite
// starts its real Vault the same way.
//
// Usage:
//
//	vaulttestd [-uninit] [-sealed] [-no-kv] [-shares N] [-threshold N]
//
// Once the server is up, vaulttestd prints one JSON line on stdout:
// {"addr", "ca_cert", "token", "init_file", "dir", "log"} (token is the root
// token of a throwaway test server). It then reads commands from stdin, one
// per line — seal, unseal, stop, kill, start, restart — and answers each
// with {"ok": true} or {"ok": false, "error": "…"}. At end of input, or on
// SIGINT/SIGTERM, it kills the server, removes its directory and exits.
// The server also dies with vaulttestd (parent-death signal).
//
// Example (Python):
//
//	p = subprocess.Popen(["vaulttestd"], stdin=PIPE, stdout=PIPE, text=True)
//	info = json.loads(p.stdout.readline())
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func main() { command.MainFunc("vaulttestd", run) }

func run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("vaulttestd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o vaulttest.Options
	fs.BoolVar(&o.NoInit, "uninit", false, "leave the server uninitialised")
	fs.BoolVar(&o.Sealed, "sealed", false, "initialise but leave sealed")
	fs.BoolVar(&o.NoKV, "no-kv", false, "do not mount KV v2 at secret/")
	fs.IntVar(&o.Shares, "shares", 0, "key shares (default 3)")
	fs.IntVar(&o.Threshold, "threshold", 0, "unseal threshold (default 2)")
	if err := fs.Parse(args); err != nil {
		return fault.Usagef("%v", err)
	}
	s, err := vaulttest.Launch(o)
	if err != nil {
		return err
	}
	defer s.Close()
	out := jsonout.NewLines(stdout)
	if err := out.Write(map[string]string{
		"addr": s.Addr, "ca_cert": s.CACert, "token": s.Token,
		"init_file": filepath.Join(s.Dir, "init.json"), "dir": s.Dir, "log": s.LogPath,
	}); err != nil {
		return err
	}
	ops := map[string]func() error{
		"seal": s.Seal, "unseal": s.Unseal, "stop": s.Stop, "kill": s.Kill,
		"start": s.StartAgain, "restart": s.Restart,
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if line == "" {
				continue
			}
			answer := map[string]any{"ok": true}
			if op, known := ops[line]; !known {
				answer = map[string]any{"ok": false, "error": fmt.Sprintf("unknown command %q", line)}
			} else if err := op(); err != nil {
				answer = map[string]any{"ok": false, "error": err.Error()}
			}
			if err := out.Write(answer); err != nil {
				return err // the test suite is gone
			}
		}
	}
}
