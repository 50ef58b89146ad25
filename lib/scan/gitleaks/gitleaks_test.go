package gitleaks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/vaultpipe/vaultpipe/lib/scan"
)

// Canary secrets: obviously fake, but shaped to match gitleaks' rules.
const (
	awsCanary = "AKIAZ2CANARY7QW3RT5Y"
	pemCanary = "-----BEGIN RSA PRIVATE KEY-----\n" +
		"MIIEcanaryCANARYcanaryCANARYcanaryCANARYcanaryCANARYcanaryCANARY0\n" +
		"CANARYcanaryCANARYcanaryCANARYcanaryCANARYcanaryCANARYcanary1234\n" +
		"-----END RSA PRIVATE KEY-----"
)

var engine = func() *Engine {
	e, err := New("")
	if err != nil {
		panic(err)
	}
	return e
}()

func scanString(t *testing.T, e *Engine, path, src string) []scan.Secret {
	t.Helper()
	var got []scan.Secret
	if err := e.Scan(context.Background(), path, []byte(src), func(s scan.Secret) { got = append(got, s) }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDefaultRules(t *testing.T) {
	if n := engine.RuleCount(); n < 200 {
		t.Errorf("RuleCount() = %d; want gitleaks' 200+ default rules", n)
	}
}

func TestScanLocatesSecret(t *testing.T) {
	src := "package x\n\n// ünïcode before\nvar cfg = map[string]string{\n\t\"é\": \"x\", \"aws_key\": \"" + awsCanary + "\",\n}\n"
	got := scanString(t, engine, "x.go", src)
	if len(got) != 1 {
		t.Fatalf("Scan found %d secrets; want 1: %+v", len(got), got)
	}
	s := got[0]
	want := scan.Secret{Rule: "aws-access-token", Line: 5, Column: 24, Name: "aws_key", Value: awsCanary}
	s.Description = ""
	if s != want {
		t.Errorf("Scan = %+v; want %+v", s, want)
	}
}

func TestGitleaksAllowComment(t *testing.T) {
	src := "key = \"" + awsCanary + "\" # gitleaks:allow\n"
	if got := scanString(t, engine, "x.py", src); len(got) != 0 {
		t.Errorf("Scan found %+v on a gitleaks:allow line", got)
	}
}

func TestMultilinePrivateKey(t *testing.T) {
	src := "# key below\n\nPEM = \"\"\"" + pemCanary + "\"\"\"\n"
	got := scanString(t, engine, "k.py", src)
	if len(got) != 1 || got[0].Rule != "private-key" || got[0].Line != 3 {
		t.Fatalf("Scan = %+v; want one private-key on line 3", got)
	}
}

// Fragments of any size find what one whole-file fragment finds, at the
// same lines, and what gitleaks' own streaming source finds.
func TestFragmentSizesAgree(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "line %d filler text with a key word\n", i)
		if i%37 == 0 {
			fmt.Fprintf(&b, "\naws_key = \"%s\"\n\n", awsCanary)
		}
		if i == 150 {
			b.WriteString(pemCanary + "\n")
		}
	}
	src := b.String()
	key := func(ss []scan.Secret) []string {
		var out []string
		for _, s := range ss {
			out = append(out, fmt.Sprintf("%s:%d:%d", s.Rule, s.Line, s.Column))
		}
		slices.Sort(out)
		return out
	}
	whole, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	whole.FragmentSize = len(src) + 1
	want := key(scanString(t, whole, "f.txt", src))
	if len(want) != 10 {
		t.Fatalf("whole-file scan found %d secrets; want 10: %v", len(want), want)
	}
	for _, size := range []int{1, 64, 512, 2048, 100_000} {
		e, _ := New("")
		e.FragmentSize = size
		if got := key(scanString(t, e, "f.txt", src)); !slices.Equal(got, want) {
			t.Errorf("FragmentSize %d found %v; want %v", size, got, want)
		}
	}
	var streamed []scan.Secret
	if err := engine.ScanReader(context.Background(), "f.txt", strings.NewReader(src), func(s scan.Secret) { streamed = append(streamed, s) }); err != nil {
		t.Fatal(err)
	}
	if got := key(streamed); !slices.Equal(got, want) {
		t.Errorf("ScanReader found %v; want %v", got, want)
	}
}

func TestRepositoryConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".gitleaks.toml")
	err := os.WriteFile(cfg, []byte(`
[extend]
useDefault = true

[[rules]]
id = "acme-token"
description = "ACME internal token"
regex = '''acme_[a-z0-9]{16}'''
keywords = ["acme_"]

[[allowlists]]
description = "test fixtures"
paths = ['''fixtures/''']
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := scanString(t, e, "app.py", "t = 'acme_0123456789abcdef'\nk = '"+awsCanary+"'\n")
	var rules []string
	for _, s := range got {
		rules = append(rules, s.Rule)
	}
	slices.Sort(rules)
	if !slices.Equal(rules, []string{"acme-token", "aws-access-token"}) {
		t.Errorf("rules found = %v; want the custom and a default rule", rules)
	}
	if !e.Skip("fixtures/a.py") || e.Skip("app.py") {
		t.Error("the config's path allowlist is not applied by Skip")
	}
}

func TestBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(cfg, []byte("[[rules]\nid="), 0o600)
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a malformed config")
	}
}

func TestBinaryNotScannedAsText(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"), []byte("\naws_key = \""+awsCanary+"\"\n")...)
	var got []scan.Secret
	engine.Scan(context.Background(), "prog", elf, func(s scan.Secret) { got = append(got, s) })
	if len(got) != 0 {
		t.Errorf("Scan of an ELF binary found %+v", got)
	}
}

func TestNameBefore(t *testing.T) {
	for prefix, want := range map[string]string{
		`api_key = "`:                  "api_key",
		`"client.secret": '`:           "client.secret",
		`export TOKEN=`:                "TOKEN",
		`https://hooks.example.com/x/`: "",
		`foo(`:                         "",
		`ENV FLY_API_TOKEN="FlyV1 `:    "FLY_API_TOKEN",
		`Authorization: Bearer `:       "Authorization",
		`password => '`:                "password",
		`"fm2_lJPECAAAAAAAAMqcxBBLMJKXYKJiT0CI58XmukX/wr,`: "",
		`x = "fm2_lJPECAAAAAAAAMqcxBBLMJKXYKJiT0CI58Xmuk=`: "",
		`lJPECAAAAAAAAMqcxBBLMJKXYKJiT0CI58Xmuk=`:          "",
		`AWS_SECRET_ACCESS_KEY=`:                           "AWS_SECRET_ACCESS_KEY",
		`awsSecretAccessKey: `:                             "awsSecretAccessKey",
		`S3_BUCKET_KEY2=`:                                  "S3_BUCKET_KEY2",
		`  `:                                               "",
		`clé_secrète := "`:                                 "clé_secrète",
	} {
		if got := nameBefore(prefix); got != want {
			t.Errorf("nameBefore(%q) = %q; want %q", prefix, got, want)
		}
	}
}

func FuzzFragmentEnd(f *testing.F) {
	f.Add([]byte("a\n\nb\n\nc"), 0, 1)
	f.Add([]byte("no newlines at all"), 3, 2)
	f.Fuzz(func(t *testing.T, content []byte, start, size int) {
		if len(content) == 0 || start < 0 || start >= len(content) || size <= 0 {
			return
		}
		end := fragmentEnd(content, start, size)
		if end <= start || end > len(content) {
			t.Fatalf("fragmentEnd(%q, %d, %d) = %d", content, start, size, end)
		}
		if end < len(content) && content[end-1] != '\n' {
			t.Fatalf("fragmentEnd(%q, %d, %d) = %d cuts inside a line", content, start, size, end)
		}
	})
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("aws_key = \"" + awsCanary + "\"\n"))
	f.Add([]byte(pemCanary))
	f.Fuzz(func(t *testing.T, content []byte) {
		lines := bytes.Count(content, []byte{'\n'}) + 1
		engine.Scan(context.Background(), "f.txt", content, func(s scan.Secret) {
			if s.Line < 1 || s.Line > lines || s.Column < 1 {
				t.Fatalf("secret at %d:%d outside %d lines", s.Line, s.Column, lines)
			}
		})
	})
}

// Locations come from the match's offset: a secret on a last line without
// a trailing newline, and each occurrence of a repeated secret, get their
// own line, column and name — the lines gitleaks' own file scan (its CLI's
// path) reports.
func TestLocationsFromOffsets(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // line:column:name
	}{
		{"last line, no newline", "a = 1\nb = 2\n\nc = 3\ntoken = \"" + awsCanary + "\"", []string{"5:10:token"}},
		{"one line, no newline", "token = \"" + awsCanary + "\"", []string{"1:10:token"}},
		{"repeated on one line", "x = 1\nfirst = \"" + awsCanary + "\"; second = \"" + awsCanary + "\"\n", []string{"2:10:first", "2:43:second"}},
		{"repeated on two lines", "k1 = '" + awsCanary + "'\n  key_two: " + awsCanary + "\n", []string{"1:7:k1", "2:12:key_two"}},
		{"after a blank-line cut", strings.Repeat("filler line of text\n", 200) + "\nsecret_key = \"" + awsCanary + "\"", []string{"202:15:secret_key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, s := range scanString(t, engine, "f.py", c.src) {
				got = append(got, fmt.Sprintf("%d:%d:%s", s.Line, s.Column, s.Name))
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("Scan located %v; want %v", got, c.want)
			}
			var lines []string
			for _, w := range c.want {
				lines = append(lines, strings.SplitN(w, ":", 2)[0])
			}
			if ref := referenceLines(t, c.src); !slices.Equal(ref, lines) {
				t.Errorf("gitleaks' file scan reports lines %v; want %v", ref, lines)
			}
		})
	}
}

// referenceLines scans src as the gitleaks CLI does (a directory source,
// default rules) and returns the 1-based lines it reports.
func referenceLines(t *testing.T, src string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.py"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	det, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	fs, err := det.DetectSource(context.Background(), &sources.Files{Config: &det.Config, Path: dir, Sema: det.Sema})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprint(f.StartLine))
	}
	slices.Sort(out)
	return out
}

// TestThirdExtendingConfig: gitleaks stops extending after two
// configurations in one process; New says so rather than scan without the
// default rules.
func TestThirdExtendingConfig(t *testing.T) {
	var errs []error
	for i := range 4 {
		cfg := filepath.Join(t.TempDir(), ".gitleaks.toml")
		os.WriteFile(cfg, fmt.Appendf(nil, "[extend]\nuseDefault = true\n[[rules]]\nid = \"r%d\"\nregex = '''r%d_[a-z]{8}'''\n", i, i), 0o600)
		_, err := New(cfg)
		errs = append(errs, err)
	}
	last := errs[len(errs)-1]
	if last == nil || !strings.Contains(last.Error(), "at most two") {
		t.Errorf("the fourth extending config: err = %v; want the extension limit named", last)
	}
}
