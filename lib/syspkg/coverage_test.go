package syspkg_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/syspkg"
)

// allowed are the programs that come from neither the package list nor this
// repository's build, each with the reason. Keep it short: a program that a
// fresh Debian machine does not have belongs in scripts/debian-packages.
var allowed = map[string]string{
	"go":      "the Go toolchain builds this repository; README's one prerequisite with Python",
	"gofmt":   "ships with the Go toolchain",
	"python3": "the interpreter scripts/python-venv makes the virtualenvs from (with pip from PyPI)",
	"git":     "the clone itself was made with it",
	"make":    "runs scripts/test-deps, which installs this list",
	"apt-get": "the installer of this list (Debian's apt, on every Debian system)",
}

// fromPyPI are programs installed from PyPI into a virtualenv the tests
// make: the file that pins each must name its package.
var fromPyPI = map[string]struct{ file, pin string }{
	"pre-commit": {"testscripts/cmds_envscan_test.go", `"pre-commit==`},
	"dagster":    {"dagster-vault/constraints.txt", "dagster=="},
	"pytest":     {"dagster-vault/constraints.txt", "pytest=="},
}

// builtHere says which part of this repository makes prog, if one does.
func builtHere(root, prog string) (string, bool) {
	switch {
	case strings.Contains(prog, "/") && !filepath.IsAbs(prog):
		return "a path inside the repository or its build", true
	case prog == "vault" || prog == "bao":
		return "scripts/vault-binary", true
	case prog == "staticcheck":
		return "Makefile (go install into bin/tools)", true
	}
	for _, dir := range []string{"cmd", "scripts", "lib/vaulttest"} {
		if _, err := os.Stat(filepath.Join(root, dir, prog)); err == nil {
			return dir + "/" + prog, true
		}
	}
	return "", false
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestEveryProgramHasASource is the package-coverage test: every program the
// repository runs (testscript exec lines, exec.Command and exec.LookPath in
// Go, commands and `command -v` in shell, the Makefile's recipes,
// subprocess calls in Python) is built here, installed from PyPI by the
// tests, allowed above, or installed by a Debian package that
// scripts/debian-packages lists (or that one of those pulls in, or that is
// Essential). Anything else fails, naming the program and where it is run.
func TestEveryProgramHasASource(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian system: no dpkg-query to ask which package installed a program")
	}
	root := repoRoot(t)
	list, err := syspkg.Load(filepath.Join(root, syspkg.ListFile))
	if err != nil {
		t.Fatal(err)
	}
	uses, err := syspkg.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) < 100 {
		t.Fatalf("Scan found %d uses of programs; the repository has hundreds: the scanner is broken", len(uses))
	}
	installed, err := syspkg.ReadInstalled()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	provided := installed.Closure(names)

	byProg := map[string][]syspkg.Use{}
	for _, u := range uses {
		byProg[u.Program] = append(byProg[u.Program], u)
	}
	progs := make([]string, 0, len(byProg))
	for p := range byProg {
		progs = append(progs, p)
	}
	sort.Strings(progs)
	found := map[string]string{} // program → path, for those left to dpkg
	for _, prog := range progs {
		where := places(byProg[prog])
		if from, ok := builtHere(root, prog); ok {
			t.Logf("%s: built here (%s)", prog, from)
			continue
		}
		if why, ok := allowed[prog]; ok {
			t.Logf("%s: allowed: %s", prog, why)
			continue
		}
		if py, ok := fromPyPI[prog]; ok {
			data, err := os.ReadFile(filepath.Join(root, py.file))
			if err != nil || !strings.Contains(string(data), py.pin) {
				t.Errorf("%s (run at %s) comes from PyPI, but %s no longer pins it (%s)", prog, where, py.file, py.pin)
			}
			t.Logf("%s: PyPI, pinned in %s", prog, py.file)
			continue
		}
		path, err := syspkg.LookPath(prog)
		if err != nil {
			t.Errorf("%s (run at %s) is not installed: add the Debian package that provides it to %s (then scripts/test-deps installs it)", prog, where, syspkg.ListFile)
			continue
		}
		found[prog] = path
	}
	paths := make([]string, 0, len(found))
	for _, p := range found {
		paths = append(paths, p)
	}
	owners, err := syspkg.Owners(paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range progs {
		path, ok := found[prog]
		if !ok {
			continue
		}
		where := places(byProg[prog])
		switch pkg := owners[path]; {
		case pkg == "":
			t.Errorf("%s (run at %s) is %s, which no Debian package installed: it was installed by hand; add its package to %s", prog, where, path, syspkg.ListFile)
		case !provided[pkg]:
			t.Errorf("%s (run at %s) comes from the Debian package %s, which %s does not list (nor pull in): add it there", prog, where, pkg, syspkg.ListFile)
		default:
			t.Logf("%s: %s, Debian package %s", prog, path, pkg)
		}
	}
}

// places is where a program is run: the first three, and how many more.
func places(uses []syspkg.Use) string {
	var s []string
	for i, u := range uses {
		if i == 3 {
			s = append(s, fmt.Sprintf("and %d more", len(uses)-3))
			break
		}
		s = append(s, u.String())
	}
	return strings.Join(s, ", ")
}

// TestOneListOfPackages keeps the list the only one: no script or CI step
// installs a Debian package but scripts/test-deps, and README names every
// package of the list.
func TestOneListOfPackages(t *testing.T) {
	root := repoRoot(t)
	list, err := syspkg.Load(filepath.Join(root, syspkg.ListFile))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if !strings.Contains(string(readme), "`"+p.Name+"`") {
			t.Errorf("README.md does not name `%s` (%s:%d) among the packages make test installs", p.Name, syspkg.ListFile, p.Line)
		}
	}
	for _, f := range []string{".ci/run", "Makefile"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "apt-get install") {
			t.Errorf("%s installs packages itself: let scripts/test-deps install them from %s", f, syspkg.ListFile)
		}
		if !strings.Contains(string(data), "test-deps") {
			t.Errorf("%s does not run scripts/test-deps", f)
		}
	}
}
