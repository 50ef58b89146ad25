package syspkg

import (
	"bytes"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// A Use is one place that runs (or looks for) an external program.
type Use struct {
	Program string // a name looked up on PATH, or an absolute path
	File    string
	Line    int
}

func (u Use) String() string { return fmt.Sprintf("%s:%d", u.File, u.Line) }

// shellBuiltins are bash's builtins and keywords: never programs.
var shellBuiltins = set(`alias bg bind break builtin caller cd compgen complete compopt continue
	declare dirs disown echo enable eval exit export false fc fg getopts hash help history jobs
	kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift
	shopt source suspend test times trap true type typeset ulimit umask unalias unset wait . : [
	command builtin exec`)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// FromShell finds the programs a bash or sh script runs: the first word of
// every simple command (through command, exec, env, timeout, xargs, nice,
// runuser, sudo and the like, and into the body of sh -c / bash -c), the
// name checked by `command -v`, skipping builtins, the script's own
// functions and words that are not literal. line0 is added to every line
// (for a script embedded in another file).
func FromShell(file string, src []byte, line0 int) ([]Use, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), file)
	if err != nil {
		return nil, err
	}
	funcs := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if fd, ok := n.(*syntax.FuncDecl); ok {
			funcs[fd.Name.Value] = true
		}
		return true
	})
	var uses []Use
	var walkErr error
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		args := make([]string, len(call.Args))
		for i, w := range call.Args {
			args[i], _ = literal(w)
		}
		line := line0 + int(call.Pos().Line())
		for _, prog := range commandWords(args) {
			if prog == "" || funcs[prog] || shellBuiltins[prog] {
				continue
			}
			uses = append(uses, Use{Program: prog, File: file, Line: line})
		}
		if body, ok := shellBody(args); ok {
			more, err := FromShell(file, []byte(body), line-1)
			if err != nil && walkErr == nil {
				walkErr = fmt.Errorf("%s:%d: sh -c: %w", file, line, err)
			}
			uses = append(uses, more...)
		}
		return true
	})
	return uses, walkErr
}

// literal is w's value when it holds no expansion.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(l.Value)
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// commandWords are the programs a command line runs: its first word, and
// the command a wrapper runs after its options. "" stands for a word that
// is not literal.
func commandWords(args []string) []string {
	var progs []string
	for len(args) > 0 {
		prog := args[0]
		progs = append(progs, prog)
		rest := args[1:]
		switch prog {
		case "command", "builtin":
			if len(rest) > 0 && (rest[0] == "-v" || rest[0] == "-V") {
				rest = rest[1:] // command -v X looks X up: a use of X
			}
		case "exec":
			rest = skipOptions(rest, "a")
		case "env":
			rest = skipOptions(rest, "u", "C", "S")
			for len(rest) > 0 && strings.Contains(rest[0], "=") {
				rest = rest[1:]
			}
		case "timeout":
			rest = skipOptions(rest, "s", "k")
			if len(rest) > 0 {
				rest = rest[1:] // the duration
			}
		case "nice", "nohup", "setsid", "stdbuf", "chrt", "ionice", "taskset":
			rest = skipOptions(rest, "n", "c", "p", "i", "o", "e")
		case "xargs":
			rest = skipOptions(rest, "I", "n", "P", "d", "L", "s", "E", "a")
		case "runuser", "sudo", "unshare", "nsenter", "flock", "setpriv", "systemd-run", "chroot", "run-parts":
			i := indexOf(rest, "--")
			if i < 0 {
				return progs // where its command starts is not certain without --
			}
			rest = rest[i+1:]
		default:
			return progs
		}
		args = rest
	}
	return progs
}

// skipOptions drops leading -x options; those named take a value in the
// next word (or glued to them).
func skipOptions(args []string, withValue ...string) []string {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		if len(a) == 2 && indexOf(withValue, a[1:]) >= 0 && len(args) > 0 {
			args = args[1:]
		}
	}
	return args
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// shellBody is the script of `sh -c SCRIPT` (or bash, also behind a
// wrapper such as runuser --).
func shellBody(args []string) (string, bool) {
	for i := 0; i+2 < len(args); i++ {
		if (args[i] == "sh" || args[i] == "bash" || args[i] == "/bin/sh" || args[i] == "/bin/bash") && args[i+1] == "-c" && args[i+2] != "" {
			return args[i+2], true
		}
	}
	return "", false
}
