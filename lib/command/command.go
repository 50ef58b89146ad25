// Package command is the shared entry point of every vaultpipe binary: it
// sets up signal handling, parses flags with kong, and turns the error a
// run function returns into the "name: error: …" and "name: hint: …" lines
// and the exit code given by lib/fault.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// RunFunc is the signature of every binary's run function.
type RunFunc func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error

// Main runs run with the process's stdio and arguments, reports its error on
// stderr and exits with the matching code. A first SIGINT or SIGTERM cancels
// the context; a second one kills the process.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdin, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(Report(name, os.Stderr, err))
}

// Report writes err to stderr in the house format and returns its exit code.
func Report(name string, stderr io.Writer, err error) int {
	if err == nil {
		return fault.ExitOK
	}
	if errors.Is(err, errHelp) {
		return fault.ExitOK
	}
	if !fault.Silent(err) {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, strings.TrimSuffix(err.Error(), "."))
		if hint := fault.Hint(err); hint != "" {
			fmt.Fprintf(stderr, "%s: hint: %s\n", name, hint)
		}
	}
	return fault.Code(err)
}

// errHelp is returned by Parse after --help was printed: run should return
// it (or any error wrapping it) so that the process exits 0.
var errHelp = errors.New("help printed")

// IsHelp reports whether Parse stopped after printing help or a version.
func IsHelp(err error) bool { return errors.Is(err, errHelp) }

type exitPanic struct{ code int }

// Parse parses args into grammar (a kong struct). Help goes to stdout.
// Parse errors are usage errors (exit 2); after --help it returns an error
// for which IsHelp is true, and run should return it as is.
// It returns the kong context so multi-command binaries can switch on
// ctx.Command().
func Parse(name, description string, grammar any, args []string, stdout io.Writer, opts ...kong.Option) (kctx *kong.Context, err error) {
	exited := false
	options := append([]kong.Option{
		kong.Name(name),
		kong.Description(description),
		kong.Writers(stdout, stdout),
		kong.Exit(func(code int) { exited = true; panic(exitPanic{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	}, opts...)
	parser, err := kong.New(grammar, options...)
	if err != nil {
		return nil, fmt.Errorf("building the flag parser: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			p, ok := r.(exitPanic)
			if !ok {
				panic(r)
			}
			if p.code == 0 {
				err = errHelp
			} else {
				err = fault.Usagef("invalid arguments")
			}
		}
	}()
	kctx, err = parser.Parse(args)
	if exited {
		return nil, errHelp
	}
	if err != nil {
		return nil, &fault.Error{Kind: fault.Usage, Err: errors.New(lowerFirst(err.Error()))}
	}
	return kctx, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// IsTerminal reports whether w is a terminal: tables and progress go there;
// pipes and files get JSON and no progress.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
