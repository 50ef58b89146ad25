package ref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"vault:secret/data/app/prod#DB_PASSWORD", Ref{"secret", "app/prod", "DB_PASSWORD"}},
		{"vault:secret/data/app#k", Ref{"secret", "app", "k"}},
		{"vault:team/kv/data/a.b/c-d/e_f#x.y-z", Ref{"team/kv", "a.b/c-d/e_f", "x.y-z"}},
		{"vault:secret/data/app/data/x#K", Ref{"secret", "app/data/x", "K"}}, // the first /data/ splits
		{"vault:secret/data/app#ключ", Ref{"secret", "app", "ключ"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v; want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, s)
		}
		if !IsRef(tt.in) {
			t.Errorf("IsRef(%q) = false", tt.in)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "does not start",
		"s3cretValue":                     "does not start",
		"Vault:secret/data/a#k":           "does not start",
		"vault:secret/data/a":             `no "#<key>"`,
		"vault:secret/a#k":                `no "/data/"`,
		"vault:/data/a#k":                 "mount is empty",
		"vault:secret/data/#k":            "path is empty",
		"vault:secret/data/a#":            "key is empty",
		"vault:secret/data/a#1k":          "key is empty",
		"vault:secret/data/a//b#k":        "empty, . or .. segment",
		"vault:secret/data/../b#k":        "empty, . or .. segment",
		"vault:secret/data/a b#k":         "path has a character",
		"vault:se cret/data/a#k":          "mount has a character",
		"vault:secret/data/a#k#k":         "key is empty",
		"vault:secret/data/a#k ":          "key is empty",
		"vault:data/data/a#k":             `"data" segment`,
		"vault:secret/data/a?version=2#k": "path has a character",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded; want error %q", in, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %q; want it to contain %q", in, err, want)
		}
		if in != "" && strings.Contains(err.Error(), in) {
			t.Errorf("Parse(%q) error quotes the input", in)
		}
		if IsRef(in) {
			t.Errorf("IsRef(%q) = true", in)
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
	if _, err := New("secret", "app", "bad key"); err == nil {
		t.Error("New with a bad key succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"vault:secret/data/app/prod#DB_PASSWORD", "vault:a/b/data/c#d", "vault:", "vault:x/data/y#", "vault:secret/data/a#ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
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
