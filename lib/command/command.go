// Package command is the shared entry point of every vaultpipe binary: a
// binary declares its kong grammar (flag structs with Run methods) and calls
// Main; this package sets up signal handling, parses the flags, binds an
// Env (context, stdio, a Vault client built on first use and closed at
// exit) to the selected command's Run method, and turns the error it
// returns into the "name: error: …" and "name: hint: …" lines and the exit
// code given by lib/fault.
//
// Every binary also gets --version, --completion bash|zsh|fish, and a
// deprecation warning on stderr when an old flag or environment variable
// name (a kong alias, or an env name after the first) is used.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// Program is one binary: its name, the description --help prints (with its
// exit status table and an example), and its kong grammar, a pointer to a
// struct whose commands (or the struct itself, for a binary without
// subcommands) have a method Run(*command.Env) error.
type Program struct {
	Name        string
	Description string
	Grammar     any
	// Options are extra kong options.
	Options []kong.Option
	// Renamed are old flag names kong cannot keep as aliases (see Renamed).
	Renamed []Renamed
}

// Main runs p with the process's stdio and arguments, reports its error on
// stderr and exits with the matching code. A first SIGINT or SIGTERM
// cancels the context, so the tool stops cleanly; a second one ends the
// process at once (the signals' default action).
func Main(p Program) {
	ctx, stop := interruptible()
	err := p.Run(ctx, os.Stdin, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(Report(p.Name, os.Stderr, err))
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM.
// The handler is removed before the context is cancelled, so the next
// signal gets its default action, ending the process, however the tool
// reacts to the first.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			signal.Stop(sig)
			cancel()
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sig)
			close(done)
			cancel()
		})
	}
}

// RunFunc is the signature of a run function for MainFunc.
type RunFunc func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error

// MainFunc is Main for a program that parses its own arguments (test
// daemons without kong).
func MainFunc(name string, run RunFunc) {
	ctx, stop := interruptible()
	err := run(ctx, os.Stdin, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(Report(name, os.Stderr, err))
}

// Run parses args into p.Grammar and calls the selected command's Run
// method with an Env on the given stdio. The Vault client the command asked
// for, if any, is closed (its login token revoked) before Run returns.
func (p Program) Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) (err error) {
	env := &Env{Name: p.Name, Stdin: stdin, Stdout: stdout, Stderr: stderr, ctx: ctx}
	args = p.rename(args, env)
	parser, err := p.parser(stdout, env)
	if err != nil {
		return err
	}
	env.warnAliases(parser.Model, args)
	kctx, err := parse(parser, args)
	if err != nil {
		return err
	}
	env.warnEnvs(kctx)
	env.vault = findVaultFlags(kctx)
	defer env.close()
	err = kctx.Run(env)
	// kong joins Run's error with its hooks' (none here): keep the error
	// itself, whose kind gives the exit code.
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) == 1 {
		err = j.Unwrap()[0]
	}
	return err
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

// errHelp is returned by parse after --help, --version or --completion
// printed what was asked: the process exits 0.
var errHelp = errors.New("help printed")

// IsHelp reports whether parsing stopped after printing help or a version.
func IsHelp(err error) bool { return errors.Is(err, errHelp) }

type exitPanic struct{ code int }

// parse parses args into the grammar. Help goes to stdout. Parse errors are
// usage errors (exit 2); after --help it returns errHelp.
func parse(parser *kong.Kong, args []string) (kctx *kong.Context, err error) {
	exited := false
	parser.Exit = func(code int) { exited = true; panic(exitPanic{code}) }
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
	if errors.Is(err, fs.ErrNotExist) {
		// A file or directory that is not there is a failure (exit 1), as
		// for any tool that reads files, not a misuse of the flags.
		return nil, &fault.Error{Kind: fault.BadInput, Err: errors.New(lowerFirst(err.Error()))}
	}
	if err != nil {
		return nil, &fault.Error{Kind: fault.Usage, Err: errors.New(lowerFirst(err.Error()))}
	}
	return kctx, nil
}

// parser builds the kong parser of p, with the flags every binary shares.
func (p Program) parser(stdout io.Writer, env *Env) (*kong.Kong, error) {
	options := append([]kong.Option{
		kong.Name(p.Name),
		kong.Description(p.Description),
		kong.Writers(stdout, stdout),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": versionLine(p.Name)},
		kong.Embed(&globals{}),
		kong.ValueFormatter(helpValue),
		kong.Bind(env),
	}, p.Options...)
	parser, err := kong.New(p.Grammar, options...)
	if err != nil {
		return nil, fmt.Errorf("building the flag parser: %w", err)
	}
	return parser, nil
}

// helpValue is kong's help text of a flag, naming only its current
// environment variable: the others are deprecated aliases.
func helpValue(v *kong.Value) string {
	if len(v.Tag.Envs) <= 1 {
		return kong.DefaultHelpValueFormatter(v)
	}
	cp := *v
	tag := *v.Tag
	tag.Envs = v.Tag.Envs[:1]
	cp.Tag = &tag
	return kong.DefaultHelpValueFormatter(&cp)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// IsTerminal reports whether w is a terminal: tables and progress go there;
// pipes and files get JSON and no progress.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
