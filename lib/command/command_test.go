package command

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

type grammar struct {
	Count   int    `help:"How many." aliases:"number" env:"VAULTPIPE_COUNT,OLD_COUNT"`
	Name    string `arg:"" help:"A name."`
	ran     bool
	gotName string
}

func (g *grammar) Run(env *Env) error {
	g.ran, g.gotName = true, g.Name
	if g.Name == "sealed" {
		return fault.New(fault.Sealed, "reading", "x", errors.New("vault is sealed"))
	}
	return nil
}

func run(t *testing.T, g any, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	p := Program{Name: "tool", Description: "A tool.", Grammar: g}
	err = p.Run(context.Background(), strings.NewReader(""), &out, &errb, args)
	return out.String(), errb.String(), err
}

func TestRunCallsRun(t *testing.T) {
	var g grammar
	if _, _, err := run(t, &g, "--count", "3", "x"); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if !g.ran || g.Count != 3 || g.gotName != "x" {
		t.Fatalf("parsed %+v", g)
	}
}

func TestRunKeepsTheErrorKind(t *testing.T) {
	if _, _, err := run(t, &grammar{}, "sealed"); fault.Code(err) != fault.ExitSealed {
		t.Errorf("Run = %v, exit %d; want %d", err, fault.Code(err), fault.ExitSealed)
	}
}

func TestParseErrorIsUsage(t *testing.T) {
	out, _, err := run(t, &grammar{}, "--bogus", "x")
	if fault.Code(err) != fault.ExitUsage {
		t.Fatalf("Code(%v) = %d; want %d", err, fault.Code(err), fault.ExitUsage)
	}
	if out != "" {
		t.Errorf("a usage error wrote to stdout: %q", out)
	}
}

func TestHelpVersionCompletionExitZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "Usage: tool"},
		{[]string{"--version"}, "tool (vaultpipe) "},
		{[]string{"--completion", "bash"}, "complete -o filenames -F _tool_complete tool"},
		{[]string{"--completion", "zsh"}, "bashcompinit"},
		{[]string{"--completion", "fish"}, "complete -c tool -l count"},
		{[]string{"--flags-json"}, `"name": "count"`},
	} {
		var g grammar
		out, stderr, err := run(t, &g, tc.args...)
		if !IsHelp(err) {
			t.Errorf("Run(%v) = %v; want the help sentinel", tc.args, err)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("Run(%v) printed %q; want %q in it", tc.args, out, tc.want)
		}
		if code := Report("tool", &bytes.Buffer{}, err); code != 0 || stderr != "" || g.ran {
			t.Errorf("Run(%v): exit %d, stderr %q, ran %v; want 0, nothing, not run", tc.args, code, stderr, g.ran)
		}
	}
	if _, _, err := run(t, &grammar{}, "--completion", "tcsh"); fault.Code(err) != fault.ExitUsage {
		t.Errorf("--completion tcsh = %v; want a usage error", err)
	}
}

func TestDeprecatedNamesWarn(t *testing.T) {
	var g grammar
	_, stderr, err := run(t, &g, "--number", "4", "x")
	if err != nil || g.Count != 4 {
		t.Fatalf("Run(--number 4) = %v, count %d", err, g.Count)
	}
	if want := "tool: warning: --number is deprecated and goes in the next release: use --count\n"; stderr != want {
		t.Errorf("stderr = %q; want %q", stderr, want)
	}
	t.Setenv("OLD_COUNT", "5")
	g = grammar{}
	_, stderr, err = run(t, &g, "x")
	if err != nil || g.Count != 5 || !strings.Contains(stderr, "OLD_COUNT is deprecated") {
		t.Errorf("with OLD_COUNT: %v, count %d, stderr %q", err, g.Count, stderr)
	}
	help, _, _ := run(t, &grammar{}, "--help")
	if strings.Contains(help, "number") || strings.Contains(help, "OLD_COUNT") {
		t.Errorf("--help shows a deprecated name:\n%s", help)
	}
}

type renamed struct {
	Sub struct {
		VaultVersion string `name:"vault-version"`
	} `cmd:""`
}

func (r *renamed) Run(env *Env) error { return nil }

func TestRenamed(t *testing.T) {
	var g renamed
	var out, errb bytes.Buffer
	p := Program{Name: "tool", Grammar: &g, Renamed: []Renamed{{Old: "version", New: "vault-version"}}}
	if err := p.Run(context.Background(), nil, &out, &errb, []string{"sub", "--version", "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	if g.Sub.VaultVersion != "1.2.3" || !strings.Contains(errb.String(), "--version is deprecated") {
		t.Errorf("vault-version %q, stderr %q", g.Sub.VaultVersion, errb.String())
	}
	out.Reset()
	if err := p.Run(context.Background(), nil, &out, &errb, []string{"sub", "--version"}); !IsHelp(err) || !strings.Contains(out.String(), "(vaultpipe)") {
		t.Errorf("sub --version = %v, %q; want the tool's version", err, out.String())
	}
}

func TestAnswerKeepsFirstError(t *testing.T) {
	var out bytes.Buffer
	env := &Env{Stdout: &out}
	first := errors.New("first")
	if err := env.Answer(map[string]int{"a": 1}, first); err != first || !strings.Contains(out.String(), `"a": 1`) {
		t.Errorf("Answer = %v, %q", err, out.String())
	}
	out.Reset()
	var nilDoc *struct{ A int }
	if err := env.Answer(nilDoc, first); err != first || out.Len() != 0 {
		t.Errorf("Answer(nil) = %v, %q; want first and nothing written", err, out.String())
	}
}

func TestReportFormat(t *testing.T) {
	var stderr bytes.Buffer
	code := Report("tool", &stderr, fault.New(fault.Sealed, "reading", "secret/data/x", errors.New("vault is sealed.")))
	want := "tool: error: reading secret/data/x: vault is sealed\ntool: hint: "
	if code != fault.ExitSealed || !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("Report = %d, %q; want %d, prefix %q", code, stderr.String(), fault.ExitSealed, want)
	}
	stderr.Reset()
	if code := Report("tool", &stderr, fault.Quietly(fault.Findings)); code != 3 || stderr.Len() != 0 {
		t.Errorf("Report(silent 3) = %d, %q", code, stderr.String())
	}
}

type stubborn struct{}

// Run ignores the first interrupt, as a tool finishing a write would.
func (stubborn) Run(env *Env) error {
	fmt.Fprintln(env.Stdout, "ready")
	<-env.Context().Done()
	fmt.Fprintln(env.Stdout, "cancelled")
	time.Sleep(time.Minute)
	return nil
}

// TestSecondInterruptEnds runs Main in a child process: the first SIGINT
// cancels the context, the second ends the process.
func TestSecondInterruptEnds(t *testing.T) {
	if os.Getenv("COMMAND_TEST_STUBBORN") == "1" {
		os.Args = os.Args[:1]
		Main(Program{Name: "stubborn", Grammar: &stubborn{}})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondInterruptEnds$")
	cmd.Env = append(os.Environ(), "COMMAND_TEST_STUBBORN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		t.Helper()
		if !lines.Scan() || lines.Text() != want {
			t.Fatalf("child printed %q (%v); want %q", lines.Text(), lines.Err(), want)
		}
	}
	expect("ready")
	cmd.Process.Signal(syscall.SIGINT)
	expect("cancelled")
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
			t.Errorf("after a second SIGINT: %v; want death by SIGINT", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGINT did not end the process")
	}
}
