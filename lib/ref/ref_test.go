package ref

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// cases are shared with dagster-vault's pytest (tests/test_reference.py).
type cases struct {
	Valid []struct {
		In, Mount, Path, Key string
	}
	Invalid []struct {
		In, Error string
	}
}

func loadCases(t *testing.T) cases {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c cases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("testdata/cases.json: %v", err)
	}
	if len(c.Valid) == 0 || len(c.Invalid) == 0 {
		t.Fatal("testdata/cases.json holds no cases")
	}
	return c
}

func TestParse(t *testing.T) {
	for _, tt := range loadCases(t).Valid {
		want := Ref{tt.Mount, tt.Path, tt.Key}
		got, err := Parse(tt.In)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.In, err)
			continue
		}
		if got != want {
			t.Errorf("Parse(%q) = %+v; want %+v", tt.In, got, want)
		}
		if s := got.String(); s != tt.In {
			t.Errorf("Parse(%q).String() = %q", tt.In, s)
		}
		if !IsRef(tt.In) {
			t.Errorf("IsRef(%q) = false", tt.In)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tt := range loadCases(t).Invalid {
		_, err := Parse(tt.In)
		if err == nil {
			t.Errorf("Parse(%q) succeeded; want error %q", tt.In, tt.Error)
			continue
		}
		if !strings.Contains(err.Error(), tt.Error) {
			t.Errorf("Parse(%q) error = %q; want it to contain %q", tt.In, err, tt.Error)
		}
		if tt.In != "" && strings.Contains(err.Error(), tt.In) {
			t.Errorf("Parse(%q) error quotes the input", tt.In)
		}
		if IsRef(tt.In) {
			t.Errorf("IsRef(%q) = true", tt.In)
		}
	}
}

func TestNew(t *testing.T) {
	r, err := New("/secret/", "/app/prod/", "K")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String(); got != "vault:secret/data/app/prod#K" {
		t.Errorf("String() = %q", got)
	}
	if r.DataPath() != "secret/data/app/prod" || r.MetadataPath() != "secret/metadata/app/prod" {
		t.Errorf("paths = %q %q", r.DataPath(), r.MetadataPath())
	}
	if _, err := New("secret", "app", " bad key"); err == nil {
		t.Error("New with a key starting with a space succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"vault:secret/data/app/prod#DB_PASSWORD", "vault:a/b/data/c#d", "vault:", "vault:x/data/y#", "vault:secret/data/a#ü", "vault:secret/data/a b#1k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if strings.HasPrefix(s, Prefix) && len(s)-len(Prefix) >= 12 && strings.Contains(err.Error(), s[len(Prefix):]) {
				t.Fatalf("Parse(%q) error quotes the input: %v", s, err)
			}
			return
		}
		if r.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, r.String())
		}
		again, err := Parse(r.String())
		if err != nil || again != r {
			t.Fatalf("re-parse of %q = %+v, %v", s, again, err)
		}
	})
}
