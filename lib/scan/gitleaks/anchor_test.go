package gitleaks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"unicode"

	gregexp "github.com/zricethezav/gitleaks/v8/regexp"

	"github.com/vaultpipe/vaultpipe/lib/scan"
)

// reference is the engine without anchors: every fragment handed to
// gitleaks whole, with its path.
var reference = func() *Engine {
	e, err := newEngine("", false)
	if err != nil {
		panic(err)
	}
	return e
}()

// anchored is the engine with anchors, whatever the build's regex engine.
var anchored = func() *Engine {
	e, err := newEngine("", true)
	if err != nil {
		panic(err)
	}
	return e
}()

// moduleDir returns where the go command keeps a dependency's source.
func moduleDir(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", path).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("locating %s: %v", path, err)
	}
	return dir
}

// corpus returns text files to compare on: gitleaks' own test data and
// rule sources (which hold every rule's true and false positive samples),
// and this repository's scan package.
func corpus(t testing.TB) map[string]string {
	t.Helper()
	gl := moduleDir(t, "github.com/zricethezav/gitleaks/v8")
	files := map[string]string{}
	for _, root := range []string{
		filepath.Join(gl, "testdata"),
		filepath.Join(gl, "cmd", "generate", "config", "rules"),
		filepath.Join(gl, "detect"),
		"..",
	} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil || len(b) > 1<<20 {
				return err
			}
			files[p] = string(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 200 {
		t.Fatalf("corpus has %d files", len(files))
	}
	return files
}

func anchors(t testing.TB) map[string]*anchor {
	out := map[string]*anchor{}
	for id, r := range reference.cfg.Rules {
		if r.Regex == nil {
			continue
		}
		if a := newAnchor(r.Regex); a != nil {
			out[id] = a
		}
	}
	return out
}

// TestEveryRuleIsAnchored keeps the rules an anchor does not cover to the
// few whose keywords are rare: any other would be scanned whole by Go's
// regexp in a build without RE2.
func TestEveryRuleIsAnchored(t *testing.T) {
	as := anchors(t)
	var missing []string
	for id, r := range reference.cfg.Rules {
		if r.Regex != nil && as[id] == nil {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	if want := []string{"sourcegraph-access-token"}; !slices.Equal(missing, want) {
		t.Errorf("rules without an anchor: %v; want %v", missing, want)
	}
	if len(anchored.windowed) != len(as) {
		t.Errorf("engine windows %d rules; want %d", len(anchored.windowed), len(as))
	}
}

// checkFindAll fails unless a finds what FindAllStringIndex finds, or
// declines the text.
func checkFindAll(t *testing.T, id string, a *anchor, text string) {
	t.Helper()
	if !a.Exact(text) {
		return
	}
	got := a.FindAll(text, lowerASCIIString(text))
	want := a.re.FindAllStringIndex(text, -1)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("%s on %.80q…: anchor found %v; FindAllStringIndex %v", id, text, got, want)
	}
}

func TestAnchorFindsWhatFindAllFinds(t *testing.T) {
	as := anchors(t)
	for p, text := range corpus(t) {
		for start := 0; start < len(text); {
			end := fragmentEnd([]byte(text), start, DefaultFragmentSize)
			frag := text[start:end]
			start = end
			for id, a := range as {
				checkFindAll(t, id+" "+filepath.Base(p), a, frag)
			}
		}
	}
}

// Shapes the anchor has to get right: context before a start, matches that
// abut, lazy prefixes, end-of-text assertions, several literals.
func TestAnchorShapes(t *testing.T) {
	cases := []struct{ re, text string }{
		{`\bkey=(\w+)`, "xkey=1 key=2 _key=3 key=4key=5"},
		{`(?i)[\w.-]{0,5}?(?:key|token)\s*=\s*(\w{3,})(?:;|$)`, "apiKey = abc; my.token=zzzz\nTOKEN = qq;\nkey=abcd"},
		{`(?m)^secret:\s*(\S+)$`, "secret: a\n  secret: b\nsecret: c"},
		{`ab|b`, "abababbb"},
		{`a+b`, "aaab aab b ab"},
		{`(?:x|hvs\.)[a-z]{3}\b`, "hvs.abc hvs.abcd xabc"},
		{`(?i)k[a-z]{2}\b`, "KEY key Kay"},
		{`\d{2}-(?:a|b)`, "12-a 3-b 45-c 67-b"},
		{`(?s)BEGIN.{0,20}?END`, "BEGIN\nx\nEND BEGIN" + strings.Repeat("y", 30) + "END"},
		{`\x60[a-z]{2}\x60|'[a-z]{2}'`, "`ab` 'cd' `e`"},
		{`(?i)[\w.-]{0,5}?key=(\d+)`, "abcdefgkey=1 éakey=2 a.b-key=3key=4 " + strings.Repeat("k", 9) + "key=5"},
		{`[a-z]{2,4}ab(?:c|$)`, "xxxxxabc ab zzab zab"},
		{`(?i)[a-z]*?token:(\w+)`, "mytoken:a TOKEN:b xtokentoken:c"},
	}
	for _, c := range cases {
		a := newAnchor(gregexp.MustCompile(c.re))
		if a == nil {
			t.Errorf("%s: no anchor", c.re)
			continue
		}
		checkFindAll(t, c.re, a, c.text)
		for i := range len(c.text) {
			checkFindAll(t, c.re, a, c.text[i:])
			checkFindAll(t, c.re, a, c.text[:i])
		}
	}
}

// TestAnchorDeclines lists shapes with no literal every match must hold.
func TestAnchorDeclines(t *testing.T) {
	for _, re := range []string{`[a-f0-9]{40}`, `\w*`, `(?:a|\d+)x?`, `(?s).*key`, `(?:key)?\d+`} {
		if newAnchor(gregexp.MustCompile(re)) != nil {
			t.Errorf("%s: got an anchor; want none", re)
		}
	}
}

// TestAnchorFoldsToNonASCII: under (?i) a literal k also matches U+212A
// KELVIN SIGN and s U+017F LONG S, which ASCII lower-casing cannot see, so
// the anchor declines texts holding them and the engine still finds what
// gitleaks finds.
func TestAnchorFoldsToNonASCII(t *testing.T) {
	var nonASCII []rune
	for r := 'a'; r <= 'z'; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f > unicode.MaxASCII {
				nonASCII = append(nonASCII, f)
			}
		}
	}
	if !slices.Equal(nonASCII, []rune{'\u212a', '\u017f'}) && !slices.Equal(nonASCII, []rune{'\u017f', '\u212a'}) {
		t.Fatalf("ASCII letters fold to %q; the anchor knows of U+212A and U+017F", nonASCII)
	}
	a := newAnchor(gregexp.MustCompile(`(?i)\btoken\s*=\s*"([a-z0-9]{8,})"`))
	if a == nil {
		t.Fatal("no anchor")
	}
	kelvin := `to` + "\u212a" + `en = "abcdefgh12"`
	if a.Exact(kelvin) {
		t.Error("Exact holds for a text with U+212A")
	}
	if a.re.FindStringIndex(kelvin) == nil {
		t.Fatal("the expression does not match U+212A for k; the premise is wrong")
	}
	src := "api_" + "\u212a" + "ey = \"" + "q7Zr2Lw9Xk4Pm8Vt3Nb6" + "\"\n"
	compareEngines(t, "x.py", src)
}

// compareEngines fails unless the anchored engine reports what the
// reference does for one file.
func compareEngines(t *testing.T, path, src string) {
	t.Helper()
	format := func(e *Engine) []string {
		var out []string
		err := e.Scan(context.Background(), path, []byte(src), func(s scan.Secret) {
			out = append(out, fmt.Sprintf("%s %d:%d %s %s", s.Rule, s.Line, s.Column, s.Name, digest(s.Value)))
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	if got, want := format(anchored), format(reference); !slices.Equal(got, want) {
		t.Errorf("%s: anchored engine found\n%s\nreference found\n%s", path, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAnchoredEngineAgrees(t *testing.T) {
	for p, text := range corpus(t) {
		compareEngines(t, p, text)
	}
}

// TestAnchoredEngineAgreesOnVault compares on HashiCorp Vault's source
// (29 MB of Go, JavaScript, images and minified bundles), which the test
// harness's Vault build puts in the module cache.
func TestAnchoredEngineAgreesOnVault(t *testing.T) {
	if testing.Short() {
		t.Skip("29 MB scanned twice")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "github.com", "hashicorp", "vault@v1.21.1")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no Vault source in the module cache: %v", err)
	}
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		compareEngines(t, p, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files", n)
}

func TestPathAllowedAgrees(t *testing.T) {
	var lists = reference.cfg.Allowlists
	for _, r := range reference.cfg.Rules {
		lists = append(lists, r.Allowlists...)
	}
	paths := []string{"go.sum", "a/go.mod", "x/node_modules/y.js", "img/logo.PNG", "vendor/modules.txt",
		"src/main.go", ".git/config", "a/b/package-lock.json", "gitleaks.toml", "é/ü.svg", "Go.Sum"}
	for p := range corpus(t) {
		paths = append(paths, p, strings.ToUpper(p))
	}
	for _, a := range lists {
		for _, p := range paths {
			if got, want := anchored.pathAllowed(a, p), a.PathAllowed(p); got != want {
				t.Errorf("pathAllowed(%q) = %v; PathAllowed says %v", p, got, want)
			}
		}
	}
}

func FuzzAnchor(f *testing.F) {
	for _, s := range []string{
		`api_key = "abcdefghij1234567890"`, "token: 'q'\n", "hvs.x", "AKIAZ2CANARY7QW3RT5Y",
		"password=\n\n\"hunter2hunter2\"", "s.abcdefghijklmnopqrstuvwx ", "ghp_" + strings.Repeat("a", 36),
	} {
		f.Add(s)
	}
	as := anchors(f)
	f.Fuzz(func(t *testing.T, s string) {
		for id, a := range as {
			checkFindAll(t, id, a, s)
		}
	})
}

func TestSyntaxBounds(t *testing.T) {
	cases := []struct {
		re              string
		min, max, lines int
	}{
		{`abc`, 3, 3 * 4, 0},
		{`a{2,5}`, 2, 20, 0},
		{`[\s'"]{0,3}x`, 1, 3 + 4, 3},
		{`\w+`, 1, -1, 0},
		{`(?s:.)*`, 0, -1, -1},
		{`\n|ab`, 1, 8, 1},
	}
	for _, c := range cases {
		tree, err := syntax.Parse(c.re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := minLen(tree); got != c.min {
			t.Errorf("minLen(%s) = %d; want %d", c.re, got, c.min)
		}
		if got := maxBytes(tree); got != c.max {
			t.Errorf("maxBytes(%s) = %d; want %d", c.re, got, c.max)
		}
		if got := maxNewlines(tree); got != c.lines {
			t.Errorf("maxNewlines(%s) = %d; want %d", c.re, got, c.lines)
		}
	}
}

// BenchmarkScan scans gitleaks' own test data and rule sources with and
// without anchors, in whichever regex engine the build compiles rules with:
//
//	go test -run '^$' -bench Scan ./lib/scan/gitleaks/                       # Go's regexp
//	go test -run '^$' -bench Scan -tags gore2regex,re2_cgo ./lib/scan/gitleaks/  # native RE2
func BenchmarkScan(b *testing.B) {
	files := corpus(b)
	size := 0
	for _, text := range files {
		size += len(text)
	}
	for _, c := range []struct {
		name string
		e    *Engine
	}{{"anchored", anchored}, {"reference", reference}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				for p, text := range files {
					if err := c.e.Scan(context.Background(), p, []byte(text), func(scan.Secret) {}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func TestEntropy(t *testing.T) {
	for _, c := range []struct {
		s    string
		want float64
	}{{"", 0}, {"aaaa", 0}, {"ab", 1}, {"abcd", 2}, {"aabb", 1}} {
		if got := entropy(c.s); got != c.want {
			t.Errorf("entropy(%q) = %v; want %v", c.s, got, c.want)
		}
	}
}

// TestAnchoredEngineAgreesOnRepositoryConfig compares the engines under a
// repository's own rules: a composite rule and its parts (kept whole), a
// rule on paths with a pattern, secret groups, entropy, stopwords, and
// allowlists on lines, matches and both conditions.
func TestAnchoredEngineAgreesOnRepositoryConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), ".gitleaks.toml")
	err := os.WriteFile(cfg, []byte(`
[extend]
useDefault = true

[[rules]]
id = "acme-token"
regex = '''(?i)\bacme[_-]?(?:token|key)\s*[:=]\s*["']?([a-z0-9]{16,})'''
secretGroup = 1
entropy = 2.5
keywords = ["acme"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''example\.com''']
[[rules.allowlists]]
condition = "AND"
stopwords = ["deadbeef"]
paths = ['''docs/''']

[[rules]]
id = "acme-client-id"
regex = '''acmeid_[0-9]{8}'''
keywords = ["acmeid_"]

[[rules]]
id = "acme-pair"
regex = '''acmesecret_[a-z]{12}'''
keywords = ["acmesecret_"]
[[rules.required]]
id = "acme-client-id"
withinLines = 2

[[rules]]
id = "acme-conf"
path = '''\.acme$'''
regex = '''pass=(\S{8,})'''
keywords = ["pass="]

[[allowlists]]
regexTarget = "match"
regexes = ['''(?i)placeholder''']
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := newEngine(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := newEngine(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(fast.windowed) == 0 {
		t.Fatal("no rule anchored")
	}
	for _, w := range fast.windowed {
		if id := w.det.Config.OrderedRules[0]; id == "acme-pair" || id == "acme-client-id" {
			t.Errorf("%s (composite) is anchored", id)
		}
	}
	src := strings.Join([]string{
		`ACME_TOKEN = "q8w7e6r5t4y3u2i1o9p8"`,
		`acme-key: 'aaaaaaaaaaaaaaaaaaaa'`,
		`acme_token=placeholder0123456789 # example.com`,
		`acmeToken := "z1x2c3v4b5n6m7q8w9e0" // see example.com`,
		`acme_key=deadbeef0123456789abcdef`,
		`acmeid_12345678 acmesecret_abcdefghijkl`,
		`acmesecret_mnopqrstuvwx`,
		`pass=hunter2hunter2`,
		`acme_token="` + strings.Repeat("r4nd0m", 300) + `" x=` + strings.Repeat("y", 2000),
		`acme_key = "k9j8h7g6f5d4s3a2l1p0" gitleaks:allow`,
	}, "\n")
	for _, path := range []string{"app.py", "docs/a.md", "conf.acme"} {
		got := func(e *Engine) []string {
			var out []string
			e.Scan(context.Background(), path, []byte(src), func(s scan.Secret) {
				out = append(out, fmt.Sprintf("%s %d:%d %s", s.Rule, s.Line, s.Column, digest(s.Value)))
			})
			slices.Sort(out)
			return out
		}
		a, r := got(fast), got(ref)
		if !slices.Equal(a, r) {
			t.Errorf("%s: anchored engine found\n%s\nreference found\n%s", path, strings.Join(a, "\n"), strings.Join(r, "\n"))
		}
		if len(r) == 0 {
			t.Errorf("%s: the reference found nothing; the fixture tests nothing", path)
		}
	}
}

// digest stands for a secret in a comparison a failing test prints: equal
// secrets compare equal, and no value is shown.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:6])
}
