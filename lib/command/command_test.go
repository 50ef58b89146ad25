package command

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

type grammar struct {
	Count int    `help:"How many."`
	Name  string `arg:"" help:"A name."`
}

func TestParse(t *testing.T) {
	var g grammar
	var out bytes.Buffer
	if _, err := Parse("tool", "A tool.", &g, []string{"--count", "3", "x"}, &out); err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if g.Count != 3 || g.Name != "x" {
		t.Fatalf("parsed %+v", g)
	}
}

func TestParseErrorIsUsage(t *testing.T) {
	var g grammar
	var out bytes.Buffer
	_, err := Parse("tool", "A tool.", &g, []string{"--bogus", "x"}, &out)
	if fault.Code(err) != fault.ExitUsage {
		t.Fatalf("Code(%v) = %d; want %d", err, fault.Code(err), fault.ExitUsage)
	}
	if out.Len() != 0 {
		t.Errorf("a usage error wrote to stdout: %q", out.String())
	}
}

func TestHelpExitsZero(t *testing.T) {
	var g grammar
	var out bytes.Buffer
	_, err := Parse("tool", "A tool.", &g, []string{"--help"}, &out)
	if !IsHelp(err) {
		t.Fatalf("Parse(--help) = %v; want the help sentinel", err)
	}
	if !strings.Contains(out.String(), "Usage: tool") {
		t.Errorf("help output %q lacks usage", out.String())
	}
	var stderr bytes.Buffer
	if code := Report("tool", &stderr, err); code != 0 || stderr.Len() != 0 {
		t.Errorf("Report(help) = %d, %q; want 0 and nothing", code, stderr.String())
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
