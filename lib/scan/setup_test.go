package scan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

func TestLoadKeyOrder(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("file-key-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := func(key string) string {
		k, err := NewKeyer([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return k.ID()
	}

	t.Setenv(KeyEnv, "env-key-0123456789abcdef")
	if k, err := LoadKey(file); err != nil || k.ID() != id("env-key-0123456789abcdef") {
		t.Errorf("LoadKey(file) with %s set = %v, %v; want the variable's key", KeyEnv, k, err)
	}
	t.Setenv(KeyEnv, "short")
	if _, err := LoadKey(file); fault.KindOf(err) != fault.Usage {
		t.Errorf("LoadKey with a short %s = %v; want a usage error", KeyEnv, err)
	}
	t.Setenv(KeyEnv, "")
	if k, err := LoadKey(file); err != nil || k.ID() != id("file-key-0123456789abcdef") {
		t.Errorf("LoadKey(file) = %v, %v; want the file's key", k, err)
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); fault.KindOf(err) != fault.BadInput {
		t.Errorf("LoadKey(missing file) = %v; want bad input (a named file is never created)", err)
	}
	first, err := LoadKey("")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "config", "vaultpipe", "env-scan.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default key file: %v, %v; want it created 0600", fi, err)
	}
	if again, err := LoadKey(""); err != nil || again.ID() != first.ID() {
		t.Errorf("LoadKey(\"\") again = %v, %v; want the key created the first time", again, err)
	}
}

func TestRulesFile(t *testing.T) {
	dir := t.TempDir()
	with := filepath.Join(dir, "with")
	if err := os.MkdirAll(with, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(with, ".gitleaks.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "dir-named", ".gitleaks.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ config, root, want string }{
		{"", with, filepath.Join(with, ".gitleaks.toml")},
		{"mine.toml", with, "mine.toml"},
		{"", dir, ""},
		{"", filepath.Join(dir, "dir-named"), ""},
	}
	for _, c := range cases {
		if got := RulesFile(c.config, c.root); got != c.want {
			t.Errorf("RulesFile(%q, %q) = %q; want %q", c.config, c.root, got, c.want)
		}
	}
	if got := Root([]string{with}); got != with {
		t.Errorf("Root([dir]) = %q; want %q", got, with)
	}
	for _, paths := range [][]string{nil, {with, dir}, {filepath.Join(with, ".gitleaks.toml")}} {
		if got := Root(paths); got != "." {
			t.Errorf("Root(%q) = %q; want .", paths, got)
		}
	}
}

func TestSelect(t *testing.T) {
	fs := []Finding{{Name: "H", Confidence: High}, {Name: "M", Confidence: Medium}, {Name: "L", Confidence: Low}, {Name: "N", Confidence: None}}
	names := func(fs []Finding) (s string) {
		for _, f := range fs {
			s += f.Name
		}
		return s
	}
	cases := []struct {
		min  Confidence
		all  bool
		want string
	}{
		{Low, false, "HML"},
		{High, false, "H"},
		{Medium, true, "HMN"},
		{Low, true, "HMLN"},
	}
	for _, c := range cases {
		got := Select(fs, c.min, c.all)
		if names(got) != c.want {
			t.Errorf("Select(min %s, all %v) = %s; want %s", c.min, c.all, names(got), c.want)
		}
	}
	if n := Secrets(fs); n != 3 {
		t.Errorf("Secrets = %d; want 3", n)
	}
}
