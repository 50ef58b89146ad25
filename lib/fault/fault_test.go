package fault

import (
	"errors"
	"fmt"
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
		{"binary-specific", WithCode(3, errors.New("findings")), 3},
		{"silent", WithCode(3, nil), 3},
		{"hint keeps code", WithHint(Usagef("x"), "try y"), ExitUsage},
	}
	for _, tc := range cases {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%s) = %d; want %d", tc.name, got, tc.want)
		}
	}
}

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
	if h := Hint(WithCode(3, WithHint(errors.New("x"), "inner"))); h != "inner" {
		t.Errorf("Hint(WithCode(WithHint)) = %q; want inner", h)
	}
	if h := Hint(errors.New("x")); h != "" {
		t.Errorf("Hint(plain) = %q; want none", h)
	}
}

func TestEveryKindHasAnEntry(t *testing.T) {
	for _, k := range []Kind{Unknown, Unreachable, TLS, Sealed, Uninitialized, Denied, NotFound, Conflict, BadRequest, Server, Usage, BadInput} {
		if _, ok := table[k]; !ok {
			t.Errorf("kind %q has no exit code in the table", k)
		}
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
	if !Silent(WithCode(3, nil)) || Silent(WithCode(3, errors.New("x"))) {
		t.Error("Silent is wrong")
	}
}
