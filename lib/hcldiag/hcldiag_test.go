package hcldiag_test

import (
	"errors"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
)

func TestDiagnosticsNameLineAndColumn(t *testing.T) {
	_, diags := hclsyntax.ParseConfig([]byte("a \"b\" {\n"), "x.hcl", hcl.InitialPos)
	err := hcldiag.Diagnostics(diags)
	if got, want := err.Error(), "x.hcl:1:7: unclosed configuration block"; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("Diagnostics() = %q; want it to start %q", got, want)
	}
	if fault.Code(err) != fault.Code(&fault.Error{Kind: fault.BadInput, Err: errors.New("x")}) {
		t.Errorf("Diagnostics() is not a bad-input error")
	}
}

func TestListReportsEveryProblem(t *testing.T) {
	l := hcldiag.List{File: "p.hcl"}
	if l.Err() != nil {
		t.Fatalf("empty List.Err() = %v; want nil", l.Err())
	}
	l.Addf(hcl.Pos{Line: 2, Column: 3}, "unknown %q", "x")
	l.Add(hcldiag.Errorf("p.hcl", hcl.Pos{}, "empty"))
	if got, want := l.Err().Error(), "p.hcl:2:3: unknown \"x\"\np.hcl: empty"; got != want {
		t.Errorf("List.Err() = %q; want %q", got, want)
	}
}
