package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/dotenv"
	"github.com/vaultpipe/vaultpipe/lib/scan"
	"github.com/vaultpipe/vaultpipe/lib/scan/gitleaks"
)

var engine = func() *gitleaks.Engine {
	e, err := gitleaks.New("")
	if err != nil {
		panic(err)
	}
	return e
}()

func newScanner(t testing.TB, all bool) *scan.Scanner {
	k, err := scan.NewKeyer([]byte("scanner-test-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return &scan.Scanner{Engine: engine, Keyer: k, All: all}
}

func write(t *testing.T, dir string, files map[string]string) {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScanPathsSkipsAndMerges(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"app/.env":                 "LOG_LEVEL=info\nAWS_KEY=AKIAZ2CANARY7QW3RT5Y\nDB_PASSWORD='a b c d e f'\n",
		"app/main.py":              "import os\nos.environ['DB_PASSWORD']\n",
		"vendor/x/creds.go":        "var k = \"AKIAZ2CANARY7QW3RT6A\"\n",
		".venv/lib/site.py":        "k = \"AKIAZ2CANARY7QW3RT6B\"\n",
		"node_modules/m/index.js":  "k = \"AKIAZ2CANARY7QW3RT6C\"\n",
		"app/package-lock.json":    "{\"k\": \"AKIAZ2CANARY7QW3RT6D\"}\n",
		"app/deeply/nested/k.conf": "token = \"AKIAZ2CANARY7QW3RT6E\"\n",
	})
	res, err := newScanner(t, false).ScanPaths(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		rel, _ := filepath.Rel(dir, f.File)
		got = append(got, rel+" "+string(f.Kind)+" "+f.Rule+" "+f.Name)
	}
	want := []string{
		"app/.env dotenv aws-access-token AWS_KEY",
		"app/.env dotenv dotenv-password DB_PASSWORD",
		"app/deeply/nested/k.conf secret aws-access-token token",
		"app/main.py env_ref env-ref-python DB_PASSWORD",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScanPathsMissing(t *testing.T) {
	if _, err := newScanner(t, false).ScanPaths(context.Background(), []string{filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Error("scanning a missing path succeeded")
	}
}

func TestLargeFileStreamed(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for b.Len() < 200_000 {
		b.WriteString("filler line without anything interesting in it at all\n")
	}
	b.WriteString("aws = \"AKIAZ2CANARY7QW3RT5Y\"\n")
	write(t, dir, map[string]string{"big.env": "DB_PASSWORD=hunter2hunter2\n" + b.String()})
	s := newScanner(t, false)
	s.MaxFileSize = 64 << 10
	res, err := s.ScanPaths(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	// too big to hold: only the engine sees it (no .env classification)
	if len(res.Findings) != 1 || res.Findings[0].Rule != "aws-access-token" {
		t.Errorf("findings = %+v; want one aws-access-token", res.Findings)
	}
	if files, n := s.Progress(); files != 1 || n < 200_000 {
		t.Errorf("Progress() = %d files, %d bytes", files, n)
	}
}

func sourceOf(path, content string) <-chan scan.Source {
	ch := make(chan scan.Source, 1)
	ch <- scan.Source{Path: path, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
	close(ch)
	return ch
}

// FuzzDotenvNeverLeaks: whatever the key and the value, the entry is read
// (the file is built to be valid .env, so a parse error is a failure, not a
// skip), it is reported under its key, and no report holds any part of the
// value.
func FuzzDotenvNeverLeaks(f *testing.F) {
	for _, seed := range [][2]string{ // value, key
		{"hunter2hunter2", "DB_PASSWORD"},
		{"postgres://u:pw@h/db", "DATABASE_URL"},
		{"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", "K"},
		{"AKIAZ2CANARY7QW3RT5Y", "AWS"},
		{"a\rB=b", "1 not a key"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, value, key string) {
		const marker = "QzX9w"
		key = validKey(key)
		// Single quotes hold anything but a quote; values are UTF-8; a NUL
		// byte makes the scanner skip the file as binary.
		v := marker + strings.ToValidUTF8(strings.NewReplacer("'", "", "\x00", "").Replace(value), "")
		content := key + "='" + v + "'\n"
		res := newScanner(t, true).ScanSources(context.Background(), sourceOf("f/.env", content))
		if len(res.Errors) > 0 || len(res.Notices) > 0 {
			t.Fatalf("scanning %q: %v %v", content, res.Errors, res.Notices)
		}
		named := false
		for _, f := range res.Findings {
			named = named || f.Name == key
		}
		if !named {
			t.Fatalf("no finding names %s in %+v", key, res.Findings)
		}
		var out bytes.Buffer
		if err := scan.WriteJSONLines(&out, res.Findings); err != nil {
			t.Fatal(err)
		}
		if err := scan.WriteSARIF(&out, "env-scan", "test", res.Findings, res.Notices, res.Errors); err != nil {
			t.Fatal(err)
		}
		if err := scan.WriteTable(&out, res.Findings); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), marker) && !strings.Contains(key, marker) {
			t.Fatalf("report of %q holds the value", content)
		}
	})
}

// validKey makes a .env key of s: characters a key cannot hold become _.
func validKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if dotenv.IsKeyRune(r, b.Len() == 0) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || !dotenv.ValidKey(b.String()) {
		return "K" + b.String()
	}
	return b.String()
}

func scanDotenv(t testing.TB, content string, all bool) []scan.Finding {
	return newScanner(t, all).ScanSources(context.Background(), sourceOf("f/.env", content)).Findings
}

// A gitleaks hit inside a .env entry is that entry's one finding, at the
// secret's own position, also on a last line without a newline and for a
// key set twice.
func TestDotenvEngineHitMerged(t *testing.T) {
	const aws = "AKIAZ2CANARY7QW3RT5Y"
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"last line, no newline", "LOG_LEVEL=info\n\nAWS_KEY=" + aws, []string{"3:9:dotenv:aws-access-token:AWS_KEY"}},
		{"key set twice", "AWS_KEY=" + aws + "\nX=1\nAWS_KEY=" + aws, []string{"1:9:dotenv:aws-access-token:AWS_KEY", "3:9:dotenv:aws-access-token:AWS_KEY"}},
		{"quoted, trailing newline", "export AWS_KEY=\"" + aws + "\"\n", []string{"1:17:dotenv:aws-access-token:AWS_KEY"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, f := range scanDotenv(t, c.src, false) {
				got = append(got, fmt.Sprintf("%d:%d:%s:%s:%s", f.Line, f.Column, f.Kind, f.Rule, f.Name))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("findings %v; want %v", got, c.want)
			}
		})
	}
}

// canaryToken returns a generated fly.io-shaped token part (fm2_ and 110
// random base64 characters): a canary, never a real token.
func canaryToken(r *rand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := []byte("fm2_")
	for range 110 {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

// No field of any report format holds any part of a secret: the name of a
// comma-separated multi-part token is never text of the token.
func TestMultiPartTokenNeverInReports(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 2))
	var parts []string
	pair := func() string {
		a, b := canaryToken(r), canaryToken(r)
		parts = append(parts, a, b)
		return "FlyV1 " + a + "," + b
	}
	dir := t.TempDir()
	files := map[string]string{
		"deploy/.env":         "APP=web\nFLY_API_TOKEN=\"" + pair() + "\"\n",
		"deploy/Dockerfile":   "FROM scratch\nENV FLY_API_TOKEN=\"" + pair() + "\"\n",
		"deploy/fly.yml":      "env:\n  # FLY_API_TOKEN: " + pair() + "\n",
		"deploy/settings.py":  "TOKENS = [\"" + pair() + "\"]\n",
		"deploy/bare.txt":     pair(),
		"deploy/one-line.env": "FLY_API_TOKEN=" + pair(),
	}
	write(t, dir, files)
	res, err := newScanner(t, true).ScanPaths(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range res.Findings {
		seen[filepath.Base(f.File)] = true
	}
	for name := range files {
		if !seen[filepath.Base(name)] {
			t.Errorf("no finding in %s: %+v", name, res.Findings)
		}
	}
	var out bytes.Buffer
	scan.WriteJSONLines(&out, res.Findings)
	scan.WriteTable(&out, res.Findings)
	scan.WriteSARIF(&out, "env-scan", "test", res.Findings, res.Notices, res.Errors)
	report := out.String()
	for _, p := range parts {
		body := strings.TrimPrefix(p, "fm2_")
		for i := 0; i+8 <= len(body); i++ {
			if strings.Contains(report, body[i:i+8]) {
				t.Fatalf("a report holds %q, part of a planted token:\n%s", body[i:i+8], report)
			}
		}
	}
}

// One bad .env line is a notice naming its line; the file's other entries,
// before and after it, are still reported. A diff named .env.* is not read
// as a .env file.
func TestDotenvKeepsScanning(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"a/.env":       "DB_PASSWORD=canary-pw-before-1\nthis line is a pasted canary-NOTE-text\nSMTP_HOST: mail\nAPI_TOKEN=canary-tok-after-22\n",
		"b/.env.patch": "diff --git a/.env b/.env\n--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-DB_PASSWORD=canary-old-pw\n+DB_PASSWORD=canary-new-pw\n",
	})
	res, err := newScanner(t, false).ScanPaths(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors %v; want none", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s:%d:%s", filepath.Base(filepath.Dir(f.File)), f.Line, f.Name))
	}
	if want := []string{"a:1:DB_PASSWORD", "a:4:API_TOKEN"}; !slices.Equal(got, want) {
		t.Errorf("findings %v; want %v", got, want)
	}
	var notes []string
	for _, n := range res.Notices {
		rel, _ := filepath.Rel(dir, n.File)
		notes = append(notes, fmt.Sprintf("%s:%d", filepath.ToSlash(rel), n.Line))
		if strings.Contains(n.Message, "canary") || strings.Contains(n.Message, "SMTP") {
			t.Errorf("notice %q holds the line's text", n)
		}
	}
	if want := []string{"a/.env:2", "a/.env:3", "b/.env.patch:0"}; !slices.Equal(notes, want) {
		t.Errorf("notices %v; want %v", notes, want)
	}
	var out bytes.Buffer
	if err := scan.WriteSARIF(&out, "env-scan", "test", res.Findings, res.Notices, res.Errors); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"level": "warning"`) + strings.Count(out.String(), `"level":"warning"`); n < 3 {
		t.Errorf("SARIF has %d warning notifications; want 3 or more:\n%s", n, out.String())
	}
}

func TestIsDiff(t *testing.T) {
	for src, want := range map[string]bool{
		"diff --git a/x b/x\nindex 1..2\n":                  true,
		"--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-A=1\n+A=2\n": true,
		"A=1\nB=--- not a diff\n":                           false,
		"# notes\n--- \n":                                   false,
	} {
		if got := scan.IsDiff([]byte(src)); got != want {
			t.Errorf("IsDiff(%q) = %v; want %v", src, got, want)
		}
	}
}

// The reads Dagster teams write: defaults holding a credential count as
// hard-coded values, ${PWD} is not a password, JS/TS and dbt reads are found.
func TestEnvRefsOfRealProjects(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"docker-compose.yml": "services:\n  cache:\n    command: redis-server --requirepass ${REDIS_AUTH:-r3dis-canary-pw}\n    volumes:\n      - ${PWD}:/data\n    environment: &env\n      SLACK_WEBHOOK_URL: ${SLACK_WEBHOOK_URL}\n",
		"web/api.ts":         "export const tok = process.env.API_TOKEN ?? import.meta.env.VITE_SECRET_KEY;\n",
		"models/orders.sql":  "select '{{ env_var(\"DBT_ENV_SECRET_PASSWORD\") }}'\n",
	})
	res, err := newScanner(t, false).ScanPaths(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s:%d %s %s hard=%v", filepath.Base(f.File), f.Line, f.Name, f.Confidence, f.HardCoded()))
	}
	want := []string{
		"docker-compose.yml:3 REDIS_AUTH high hard=true",
		"docker-compose.yml:7 SLACK_WEBHOOK_URL high hard=false",
		"orders.sql:1 DBT_ENV_SECRET_PASSWORD high hard=false",
		"api.ts:1 API_TOKEN high hard=false",
		"api.ts:1 VITE_SECRET_KEY high hard=false",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
