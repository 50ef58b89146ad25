// The layers of the module, kept by a test in the spirit of
// go-containerregistry's depcheck: who may import whom, and which heavy
// dependencies stay out of the libraries. README's "Layout" section holds
// the same table, rendered from this one.
package lib_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/vaultpipe/vaultpipe"

type layer int

const (
	shared   layer = iota // nouns every domain may use
	domain                // one domain each; sub-packages belong to their parent
	entry                 // lib/command: kong, for binaries only
	binary                // cmd/<tool>
	testOnly              // servers and fixtures, imported only by tests
	harness               // bench/, testscripts/: may import anything
)

var layerNames = map[layer]string{
	shared:   "shared nouns",
	domain:   "domains",
	entry:    "entry point",
	binary:   "binaries",
	testOnly: "test-only",
	harness:  "harness",
}

var mayImport = map[layer]string{
	shared:   "shared nouns",
	domain:   "shared nouns, its own sub-packages, named exceptions",
	entry:    "shared nouns",
	binary:   "entry point, domains, shared nouns",
	testOnly: "anything; imported only from _test.go files, test-only packages and the harness",
	harness:  "anything",
}

// layers places every package of the module (without the module prefix);
// cmd/, bench/ and testscripts go by prefix.
var layers = map[string]layer{
	"lib/fault":                       shared,
	"lib/safefile":                    shared,
	"lib/jsonout":                     shared,
	"lib/duration":                    shared,
	"lib/hcldiag":                     shared,
	"lib/textfile":                    shared,
	"lib/ref":                         shared,
	"lib/dotenv":                      shared,
	"lib/pki":                         shared,
	"lib/vaultclient":                 shared,
	"lib/vaultconfig":                 shared,
	"lib/localvault":                  shared,
	"policies":                        shared, // the shipped policy files, embedded
	"lib/command":                     entry,
	"lib/scan":                        domain,
	"lib/scan/gitleaks":               domain,
	"lib/importer":                    domain,
	"lib/rotation":                    domain,
	"lib/snapshot":                    domain,
	"lib/auditlog":                    domain,
	"lib/policy":                      domain,
	"lib/install":                     domain,
	"lib/install/release":             domain,
	"lib/health":                      domain,
	"lib/unseal":                      domain,
	"lib/broker":                      domain,
	"lib/vaulttest":                   testOnly,
	"lib/vaulttest/vaulttestd":        testOnly,
	"lib/hosttest":                    testOnly,
	"lib/pgtest":                      testOnly,
	"lib/syspkg":                      testOnly,
	"lib/install/installtest":         testOnly,
	"lib/install/release/releasetest": testOnly,
	"lib/snapshot/snapshottest":       testOnly,
}

// exceptions are the imports the layers forbid that are kept on purpose,
// each with its reason. One whose importer exists but no longer imports
// fails the test, so that the list only shrinks.
var exceptions = map[[2]string]string{
	{"lib/install", "lib/policy"}:    "vault-install applies policies/ at bootstrap and issues the hand-over AppRole's credentials",
	{"lib/broker", "lib/policy"}:     "the broker issues and destroys secret_ids the one way vault-policy issue does (the parameters broker.hcl pins)",
	{"lib/install", "lib/health"}:    "vault-install waits for the server it started through health's one reading of sys/health",
	{"lib/unseal", "lib/health"}:     "unseal learns whether the server is sealed through that same reading",
	{"lib/rotation", "lib/policy"}:   "a rotation policy is checked against the rotator's ACL policy, which only lib/policy reads and evaluates",
	{"lib/localvault", "lib/unseal"}: "the local server is unsealed the one way vaultpipe unseals",
	{"lib/snapshot", "lib/unseal"}:   "a restore unseals the restored server and waits for it to serve the one way vaultpipe unseals",
}

// heavy are third-party modules that only binaries may link.
var heavy = map[string]string{
	"github.com/alecthomas/kong": "flag parsing belongs to cmd/ (through lib/command)",
}

func layerOf(pkg string) (layer, bool) {
	switch {
	case strings.HasPrefix(pkg, "cmd/"):
		return binary, true
	case strings.HasPrefix(pkg, "bench/"), pkg == "testscripts":
		return harness, true
	}
	l, ok := layers[pkg]
	return l, ok
}

// home is the package a domain sub-package belongs to: lib/scan for
// lib/scan/gitleaks.
func home(pkg string) string {
	parts := strings.SplitN(pkg, "/", 3)
	if len(parts) < 2 {
		return pkg
	}
	return parts[0] + "/" + parts[1]
}

// why says why importer may not import imported, or "" when it may.
func why(importer, imported string) string {
	from, _ := layerOf(importer)
	to, ok := layerOf(imported)
	if !ok {
		return "" // reported once, as a package in no layer
	}
	if _, ok := exceptions[[2]string{importer, imported}]; ok {
		return ""
	}
	switch {
	case from == harness || from == testOnly:
		return ""
	case to == testOnly:
		return "test-only packages are for _test.go files"
	case to == harness:
		return "the harness is imported by nobody"
	case to == binary:
		return "binaries are imported by nobody"
	case from == binary:
		return ""
	case to == entry:
		return "lib/command (kong) is for binaries"
	case from == shared && to == domain:
		return "a shared noun imports a domain"
	case from == entry && to == domain:
		return "lib/command imports a domain"
	case from == domain && to == domain && home(importer) != home(imported):
		return "a domain imports another domain: move what both need into a shared noun, or name the exception in lib/layers_test.go"
	}
	return ""
}

type pkgInfo struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	touchSources(t)
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,Error", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		p.ImportPath = local(p.ImportPath)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// touchSources looks at every directory and Go file of the module, so that
// go test's cache, which does not see what go list reads, keeps a result
// only while they are unchanged.
func touchSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "dagster-vault") {
				return filepath.SkipDir
			}
			_, err := os.ReadDir(path)
			return err
		}
		if strings.HasSuffix(path, ".go") {
			_, err := os.Stat(path)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
}

// local drops the module prefix; outside packages come back unchanged.
func local(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

func TestLayers(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]map[string]bool{}
	for _, p := range pkgs {
		if p.ImportPath == "lib" {
			continue // this test
		}
		if _, ok := layerOf(p.ImportPath); !ok {
			t.Errorf("%s is in no layer: add it to the table in lib/layers_test.go and to README's Layout", p.ImportPath)
			continue
		}
		seen[p.ImportPath] = map[string]bool{}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			imp = local(imp)
			seen[p.ImportPath][imp] = true
			if reason := why(p.ImportPath, imp); reason != "" {
				t.Errorf("forbidden import %s → %s: %s", p.ImportPath, imp, reason)
			}
		}
		if l, _ := layerOf(p.ImportPath); l == shared || l == domain {
			for _, dep := range p.Deps {
				if reason, ok := heavy[dep]; ok {
					t.Errorf("%s links %s: %s; %s", p.ImportPath, dep, reason, chain(pkgs, p.ImportPath, dep))
				}
			}
		}
	}
	for pair := range exceptions {
		if imports, ok := seen[pair[0]]; ok && !imports[pair[1]] {
			t.Errorf("exception %s → %s is no longer used: remove it from lib/layers_test.go and README", pair[0], pair[1])
		}
	}
}

// chain names the path by which pkg reaches dep, for the error message.
func chain(pkgs []pkgInfo, pkg, dep string) string {
	imports := map[string][]string{}
	for _, p := range pkgs {
		imports[p.ImportPath] = p.Imports
	}
	var walk func(at string, path []string, visited map[string]bool) []string
	walk = func(at string, path []string, visited map[string]bool) []string {
		path = append(path, at)
		for _, imp := range imports[at] {
			if imp == dep {
				return append(path, dep)
			}
			next := local(imp)
			if _, mine := imports[next]; mine && !visited[next] {
				visited[next] = true
				if found := walk(next, path, visited); found != nil {
					return found
				}
			}
		}
		return nil
	}
	if p := walk(pkg, nil, map[string]bool{}); p != nil {
		return "through " + strings.Join(p, " → ")
	}
	return "indirectly"
}

var update = flag.Bool("update", false, "rewrite README.md's layers table from this file")

// TestLayersREADME keeps README's Layout table the table above
// (go test ./lib -run TestLayersREADME -update rewrites it).
func TestLayersREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- layers: begin -->\n", "<!-- layers: end -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", strings.TrimSpace(begin), end)
	}
	got, want := string(readme[i+len(begin):j]), layerTable()
	if got != want && *update {
		out := append(append(append([]byte{}, readme[:i+len(begin)]...), want...), readme[j:]...)
		if err := os.WriteFile("../README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("README.md's layers table differs from lib/layers_test.go (-update rewrites it); want:\n%s", want)
	}
}

func layerTable() string {
	byLayer := map[layer][]string{}
	for pkg, l := range layers {
		byLayer[l] = append(byLayer[l], pkg)
	}
	byLayer[binary] = []string{"cmd/*"}
	byLayer[harness] = []string{"bench/*", "testscripts"}
	var b strings.Builder
	b.WriteString("| layer | packages | may import |\n|---|---|---|\n")
	for _, l := range []layer{binary, entry, domain, shared, testOnly, harness} {
		sort.Strings(byLayer[l])
		fmt.Fprintf(&b, "| %s | %s | %s |\n", layerNames[l], strings.Join(byLayer[l], ", "), mayImport[l])
	}
	b.WriteString("\n| exception | why |\n|---|---|\n")
	var pairs [][2]string
	for pair := range exceptions {
		pairs = append(pairs, pair)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0]+" "+pairs[i][1] < pairs[j][0]+" "+pairs[j][1] })
	for _, pair := range pairs {
		fmt.Fprintf(&b, "| %s → %s | %s |\n", pair[0], pair[1], exceptions[pair])
	}
	for _, dep := range sortedKeys(heavy) {
		fmt.Fprintf(&b, "\nNo shared noun or domain links `%s`: %s.\n", dep, heavy[dep])
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
