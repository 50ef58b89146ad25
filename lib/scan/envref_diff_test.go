package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Helper names for the differential tests: os.Getenv and Getenv find
// real calls in Go source, $env and a.b_c exercise the name characters.
var diffHelpers = []string{"env", "getenv", "os.Getenv", "Getenv", "settings.get_env", "$env", "a.b_c"}

// textKinds are the kinds FindEnvRefs matches over the whole text.
var textKinds = []string{"python", "javascript", "sql"}

// compareEnvRefs checks FindEnvRefs and FindHelperRefs against the
// reference on src read as every whole-text kind, whatever its name.
func compareEnvRefs(t *testing.T, name string, src []byte, helper *EnvHelper, refHelper *regexp.Regexp) {
	t.Helper()
	compareAs(t, name, src, textKinds, helper, refHelper)
}

// compareAs checks FindEnvRefs on src read as each of kinds, and
// FindHelperRefs when helper is not nil.
func compareAs(t *testing.T, name string, src []byte, kinds []string, helper *EnvHelper, refHelper *regexp.Regexp) {
	t.Helper()
	for _, kind := range kinds {
		if got, want := FindEnvRefs(kind, src), refFindEnvRefs(kind, src); !slices.Equal(got, want) {
			t.Errorf("%s as %s: FindEnvRefs =\n%s\nreference\n%s", name, kind, refsHidden(got), refsHidden(want))
		}
	}
	if helper == nil {
		return
	}
	if got, want := FindHelperRefs(helper, src), refFindHelperRefs(refHelper, src); !slices.Equal(got, want) {
		t.Errorf("%s: FindHelperRefs =\n%s\nreference\n%s", name, refsHidden(got), refsHidden(want))
	}
}

func diffHelperPatterns(t testing.TB, names []string) (*EnvHelper, *regexp.Regexp) {
	h, err := HelperPattern(names)
	if err != nil {
		t.Fatal(err)
	}
	re, err := refHelperPattern(names)
	if err != nil {
		t.Fatal(err)
	}
	return h, re
}

// readTree returns the text files under root (skipping .git) for which
// keep is true, by path; binary files, which the scanner does not read
// for env refs, are left out.
func readTree(t testing.TB, root string, keep func(string) bool) map[string][]byte {
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !keep(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if !isBinary(b[:min(len(b), 8000)]) {
			files[p] = b
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func all(string) bool { return true }

// corpusTrees are this repository and gitleaks' module source.
func corpusTrees(t testing.TB) []string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/zricethezav/gitleaks/v8").Output()
	if err != nil {
		t.Fatalf("go list gitleaks: %v", err)
	}
	return []string{filepath.Join("..", ".."), strings.TrimSpace(string(out))}
}

// vaultTree is HashiCorp Vault's source in the module cache, or "".
func vaultTree(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "github.com", "hashicorp", "vault@v1.21.1")
	if _, err := os.Stat(root); err != nil {
		return ""
	}
	return root
}

func TestEnvRefsAgreeOnEdgeCases(t *testing.T) {
	h, re := diffHelperPatterns(t, diffHelpers)
	for _, src := range []string{
		"", "getenv", "os.getenv('A')", "xgetenv('A')", "_getenv('A') 1getenv('B') .getenv('C')",
		"é getenv('A') égetenv('B') \xffgetenv('C') \xc3getenv('D')",
		"os.environ\n[\n'A'\n]", "os.environ . get ( \"A\" )", "getenvb('A')", "getenvgetenv('A')",
		"{'env': 'A', \"env\":\"B\", 'env\": 'C', xenv': 'D'}", "''env': 'A'", "\"env\"\"env\": 'B'",
		"EnvVar.int(\n'A') EnvVarEnvVar('B') EnvVar .str ('C')",
		"process.env.A process.env.B_ process.env.Bé process.envx.C process.env['D'] process.env[`E`] process\n.\nenv\n.\nF",
		"import.meta.env.A importimport.meta.env.B import .meta.env['C'] import.meta.env",
		"Deno.env.get('A') xDeno.env.get('B')", "{{ env_var('A') }} env_var(\"B\") myenv_var('C')",
		"env('A') env(\"B\"env('C') xenv('D') .env('E') $env('F') a.b_c('G') b_c('H') x.a.b_c('I')",
		"env('A')env('B')", "x$env('A') $$env('B') x.$env('C') a.a.b_c('D') xa.b_c('E')", "os.Getenv(\"A\") Getenv(\"B\") os.Getenv(\n\t\"C\")", "éenv('A') \xffenv('B')",
		"\xef\xbb\xbfenv('A')\r\nenv('B')\r\n", "getenv('A')\r\ngetenv('B')  # gitleaks:allow\r\n",
		"settings.get_env('A') get_env('B') settings.env('C')", "envenv('A')",
		"getenv('A'getenv('B')", "os.environ['A']os.environ['B']",
	} {
		compareEnvRefs(t, strings.ReplaceAll(src, "\n", `\n`), []byte(src), h, re)
	}
}

func TestEnvRefsAgreeOnCorpus(t *testing.T) {
	h, re := diffHelperPatterns(t, diffHelpers)
	n := 0
	for _, root := range corpusTrees(t) {
		for p, b := range readTree(t, root, all) {
			compareEnvRefs(t, p, b, h, re)
			n++
		}
	}
	t.Logf("%d files", n)
}

func TestEnvRefsAgreeOnVault(t *testing.T) {
	if testing.Short() {
		t.Skip("Vault's 8 MB of JavaScript, TypeScript, YAML and shell matched twice")
	}
	root := vaultTree(t)
	if root == "" {
		t.Skip("no Vault source in the module cache")
	}
	h, re := diffHelperPatterns(t, diffHelpers)
	// each file as the scanner reads it: by its kind, and for helpers
	// when Python or JavaScript
	files := readTree(t, root, func(p string) bool { return EnvRefKind(p) != "" })
	for p, b := range files {
		switch kind := EnvRefKind(p); kind {
		case "python", "javascript":
			compareAs(t, p, b, []string{kind}, h, re)
		default:
			compareAs(t, p, b, []string{kind}, nil, nil)
		}
	}
	t.Logf("%d files", len(files))
}

func FuzzEnvRefsAgree(f *testing.F) {
	f.Add("python", "a = os.getenv(\n  \"A\")\nb = os.environ['B']os.environ['C']\n", "env")
	f.Add("python", "{'env': 'A'} EnvVar.int('B') é getenv('C')", "settings.get_env,env")
	f.Add("javascript", "process.env.A; import.meta.env[\"B\"]; Deno.env.get('C')\n", "$env")
	f.Add("sql", "{{ env_var('A') }}\n", "env_var")
	f.Add("javascript", "env('A')env(\"B\"env('C') xenv('D')", "env,xenv")
	f.Add("python", "x$env('A') $$env('B') é$env('C') a.env('D')", "$env,env")
	f.Fuzz(func(t *testing.T, kind, src, helpers string) {
		if got, want := FindEnvRefs(kind, []byte(src)), refFindEnvRefs(kind, []byte(src)); !slices.Equal(got, want) {
			t.Fatalf("FindEnvRefs(%s) =\n%s\nreference\n%s", kind, refsHidden(got), refsHidden(want))
		}
		h, err := HelperPattern(strings.Split(helpers, ","))
		if err != nil {
			return
		}
		re, err := refHelperPattern(strings.Split(helpers, ","))
		if err != nil {
			t.Fatalf("reference rejects %q: %v", helpers, err)
		}
		if got, want := FindHelperRefs(h, []byte(src)), refFindHelperRefs(re, []byte(src)); !slices.Equal(got, want) {
			t.Fatalf("FindHelperRefs(%q) =\n%s\nreference\n%s", helpers, refsHidden(got), refsHidden(want))
		}
	})
}

// BenchmarkFindEnvRefs reads every text file of this repository and
// gitleaks' source as each whole-text kind, and with two helpers, and Vault's JavaScript and TypeScript
// (most of the env-ref time of a Vault scan) when it is in the module cache.
func BenchmarkFindEnvRefs(b *testing.B) {
	var corpus [][]byte
	for _, root := range corpusTrees(b) {
		for _, src := range readTree(b, root, all) {
			corpus = append(corpus, src)
		}
	}
	h, _ := diffHelperPatterns(b, []string{"env", "settings.get_env"})
	run := func(name string, files [][]byte, find func([]byte) []EnvRef) {
		b.Run(name, func(b *testing.B) {
			n := 0
			for _, f := range files {
				n += len(f)
			}
			b.SetBytes(int64(n))
			for b.Loop() {
				for _, f := range files {
					find(f)
				}
			}
		})
	}
	for _, kind := range textKinds {
		run(kind, corpus, func(src []byte) []EnvRef { return FindEnvRefs(kind, src) })
	}
	run("helper", corpus, func(src []byte) []EnvRef { return FindHelperRefs(h, src) })
	if root := vaultTree(b); root != "" {
		var js [][]byte
		for _, src := range readTree(b, root, func(p string) bool { return EnvRefKind(p) == "javascript" }) {
			js = append(js, src)
		}
		run("vault-javascript", js, func(src []byte) []EnvRef { return FindEnvRefs("javascript", src) })
	}
}

// refsHidden is refsString with each value as a digest: the corpora here
// are other projects' files, and a failing comparison prints no value.
func refsHidden(refs []EnvRef) string {
	hidden := slices.Clone(refs)
	for i := range hidden {
		if hidden[i].HasValue {
			sum := sha256.Sum256([]byte(hidden[i].Value))
			hidden[i].Value = "sha256:" + hex.EncodeToString(sum[:6])
		}
	}
	return refsString(hidden)
}
