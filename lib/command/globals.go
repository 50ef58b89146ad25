package command

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"
)

// globals are the flags of every binary.
type globals struct {
	Version    kong.VersionFlag `help:"Print vaultpipe's version and commit, and exit."`
	Completion completionFlag   `placeholder:"SHELL" help:"Print a completion script for bash, zsh or fish, and exit. Example: source <(TOOL --completion bash)"`
	FlagsJSON  flagsJSONFlag    `name:"flags-json" hidden:"" help:"Print the flag model as JSON, and exit (for tests and tooling)."`
}

// version and commit are set at link time by release builds
// (-ldflags "-X github.com/vaultpipe/vaultpipe/lib/command.version=…");
// otherwise they come from the build info.
var version, commit string

// Version returns vaultpipe's version and the commit it was built from
// ("devel" and "unknown" when the build does not say).
func Version() (string, string) {
	v, c := version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if c != "" && dirty && !strings.HasSuffix(c, "-dirty") {
			c += "-dirty"
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

func versionLine(name string) string {
	v, c := Version()
	return fmt.Sprintf("%s (vaultpipe) %s, commit %s", name, v, c)
}

type completionFlag string

// BeforeReset prints the completion script before any required flag or
// argument is checked.
func (completionFlag) BeforeReset(k *kong.Kong, kctx *kong.Context, p *kong.Path) error {
	if p.Flag == nil {
		return nil
	}
	shell, _ := kctx.FlagValue(p.Flag).(completionFlag)
	if shell == "" {
		return nil
	}
	script, err := Completion(k.Model, string(shell))
	if err != nil {
		return err
	}
	fmt.Fprint(k.Stdout, script)
	k.Exit(0)
	return nil
}

type flagsJSONFlag bool

func (flagsJSONFlag) BeforeReset(k *kong.Kong) error {
	if err := writeModel(k.Stdout, k.Model); err != nil {
		return err
	}
	k.Exit(0)
	return nil
}

// Renamed is an old flag name that kong cannot keep as an alias, because
// the name now means something else (vault-install's --version, which
// named Vault's version, is now every tool's --version). Before parsing,
// "--Old VALUE" and "--Old=VALUE" after the first argument become "--New",
// with a deprecation warning; "--Old" alone keeps its new meaning.
type Renamed struct{ Old, New string }

func (p Program) rename(args []string, env *Env) []string {
	if len(p.Renamed) == 0 {
		return args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		for _, r := range p.Renamed {
			old := "--" + r.Old
			switch {
			case i > 0 && strings.HasPrefix(a, old+"="):
				env.deprecated(old, "--"+r.New)
				a = "--" + r.New + strings.TrimPrefix(a, old)
			case i > 0 && a == old && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
				env.deprecated(old, "--"+r.New)
				a = "--" + r.New
			}
		}
		out = append(out, a)
	}
	return out
}

func (e *Env) deprecated(old, now string) {
	e.Warnf("%s is deprecated and goes in the next release: use %s", old, now)
}

// warnAliases warns about every old flag name (a kong alias anywhere in
// the model) given on the command line; it runs before parsing, so that
// "--old X --help" says it too.
func (e *Env) warnAliases(app *kong.Application, args []string) {
	warned := map[string]bool{}
	_ = kong.Visit(app, func(n kong.Visitable, next kong.Next) error {
		if f, ok := n.(*kong.Flag); ok {
			for _, alias := range f.Aliases {
				if !warned[alias] && given(args, alias) {
					warned[alias] = true
					e.deprecated("--"+alias, "--"+f.Name)
				}
			}
		}
		return next(nil)
	})
}

// warnEnvs warns about every old environment variable (an env name after
// the first) of the selected command's flags that is set while the current
// one is not.
func (e *Env) warnEnvs(kctx *kong.Context) {
	for _, n := range selected(kctx) {
		for _, f := range n.Flags {
			if len(f.Envs) < 2 {
				continue
			}
			if _, set := os.LookupEnv(f.Envs[0]); set {
				continue
			}
			for _, old := range f.Envs[1:] {
				if _, set := os.LookupEnv(old); set {
					e.deprecated(old, f.Envs[0])
					break
				}
			}
		}
	}
}

// given reports whether --name appears in args before any "--".
func given(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}
