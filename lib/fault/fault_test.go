package fault

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

func TestCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain error", errors.New("x"), ExitFailure},
		{"usage", Usagef("bad flag"), ExitUsage},
		{"wrapped usage", fmt.Errorf("parsing: %w", Usagef("bad")), ExitUsage},
		{"sealed", New(Sealed, "reading", "p", nil), ExitSealed},
		{"uninitialised", New(Uninitialized, "reading", "p", nil), ExitUninitialized},
		{"denied", New(Denied, "reading", "p", nil), ExitDenied},
		{"not found", New(NotFound, "reading", "p", nil), ExitFailure},
		{"unreachable", New(Unreachable, "reading", "p", nil), ExitFailure},
		{"findings", Errorf(Findings, "2 findings"), ExitAttention},
		{"quiet mismatch", Quietly(Mismatch), ExitAttention},
		{"kinder", pending{Sealed}, ExitSealed},
		{"wrapped kinder", fmt.Errorf("applying: %w", pending{NeedsRoot}), ExitAttention},
		{"hint keeps code", WithHint(Usagef("x"), "try y"), ExitUsage},
		{"hint on wrapped keeps code", WithHint(fmt.Errorf("a: %w", New(Denied, "", "", nil)), "h"), ExitDenied},
	}
	for _, tc := range cases {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%s) = %d; want %d", tc.name, got, tc.want)
		}
	}
}

type pending struct{ k Kind }

func (p pending) Error() string   { return "pending" }
func (p pending) FaultKind() Kind { return p.k }

func TestHint(t *testing.T) {
	if h := Hint(New(Sealed, "", "", nil)); h == "" {
		t.Error("sealed has no hint")
	}
	if h := Hint(WithHint(New(Sealed, "", "", nil), "custom")); h != "custom" {
		t.Errorf("Hint(WithHint) = %q; want custom", h)
	}
	if h := Hint(WithHint(errors.New("x"), "custom")); h != "custom" {
		t.Errorf("Hint(WithHint(plain)) = %q; want custom", h)
	}
	if h := Hint(errors.New("x")); h != "" {
		t.Errorf("Hint(plain) = %q; want none", h)
	}
	wrapped := WithHint(fmt.Errorf("context: %w", New(Denied, "", "", errors.New("no"))), "h")
	if got := wrapped.Error(); got != "context: no" {
		t.Errorf("WithHint(wrapped).Error() = %q; want the context kept", got)
	}
}

// TestEveryKindHasAnEntry reads the Kind constants from this package's
// source, so a kind added to the code but not to the table fails here.
func TestEveryKindHasAnEntry(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "fault.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				continue
			}
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("kind %s is not a string literal", n.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				declared++
				if _, ok := table[Kind(v)]; !ok {
					t.Errorf("kind %s (%q) has no exit code in the table", n.Name, v)
				}
			}
		}
	}
	if declared != len(table) || declared != len(Kinds()) {
		t.Errorf("%d kinds declared, %d in the table", declared, len(table))
	}
}

func TestErrorMessage(t *testing.T) {
	e := New(NotFound, "reading secret", "secret/data/x", errors.New("not found"))
	if got, want := e.Error(), "reading secret secret/data/x: not found"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if !Is(fmt.Errorf("wrap: %w", e), NotFound) {
		t.Error("Is(wrapped, NotFound) = false")
	}
	if !Silent(Quietly(Findings)) || Silent(Errorf(Findings, "x")) {
		t.Error("Silent is wrong")
	}
}
