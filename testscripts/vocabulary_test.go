package testscripts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// concept is one thing several tools take, under one flag name and one
// environment variable; old names ("NAME", or "BIN:NAME" for one binary's)
// are kept one release, hidden, with a deprecation warning.
type concept struct {
	what, flag, env, values string
	old                     []string
}

// concepts is the vocabulary: README's "Conventions" table is rendered
// from it (go test ./testscripts -run TestVocabulary -update rewrites it).
var concepts = []concept{
	{"textfile metrics (node_exporter)", "metrics-file", "VAULTPIPE_METRICS_FILE", "FILE, written atomically", []string{"textfile", "metrics", "vault-snap:metrics-dir"}},
	{"textfile metrics, one file per identity (vault-broker)", "metrics-dir", "VAULTPIPE_METRICS_DIR", "DIR", nil},
	{"output format", "format", "VAULTPIPE_FORMAT", "`json` one document, `jsonl` JSON lines, `table`, `sarif`, `auto` (a table on a terminal)", nil},
	{"parallelism", "workers", "VAULTPIPE_WORKERS", "N", []string{"concurrency"}},
	{"policies directory", "policies", "VAULTPIPE_POLICIES", "DIR (acl/, approles/, matrix.hcl)", []string{"vault-policy:dir"}},
	{"what makes the exit status 3", "fail-on", "VAULTPIPE_FAIL_ON", "per tool: finding kinds, `match`, `change`, a severity", []string{"expect-none", "exit-code", "strict"}},
	{"token file", "token-file", "VAULTPIPE_TOKEN_FILE", "FILE (0600)", nil},
	{"AppRole role_id file", "role-id-file", "VAULTPIPE_ROLE_ID_FILE", "FILE (0600)", nil},
	{"AppRole secret_id file", "secret-id-file", "VAULTPIPE_SECRET_ID_FILE", "FILE (0600; plain or response-wrapped)", nil},
	{"unseal key share files", "share-file", "VAULTPIPE_SHARE_FILE", "FILE, repeatable", nil},
	{"time allowed for one check", "timeout", "VAULTPIPE_TIMEOUT", "DURATION", nil},
	{"time to wait for something to be ready", "wait", "VAULTPIPE_WAIT", "DURATION", nil},
	{"Vault version (vault-install)", "vault-version", "", "1.21.1", []string{"vault-install:version"}},
}

// formats are the --format values; json is one document, jsonl lines.
var formats = []string{"auto", "json", "jsonl", "table", "sarif"}

// foreignEnv are variables of other programs a flag may fall back to:
// Vault's own (its CLI's names), gitleaks' config, and the Vault server
// binary that scripts/vault-binary and the tests also read.
var foreignEnv = []string{"VAULT_ADDR", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY",
	"VAULT_TLS_SERVER_NAME", "VAULT_SKIP_VERIFY", "VAULT_NAMESPACE", "VAULT_CLIENT_TIMEOUT", "VAULT_MAX_RETRIES",
	"GITLEAKS_CONFIG", "VAULT_BINARY"}

// TestVocabulary walks every binary's kong model (--flags-json) and holds
// it to the vocabulary: one flag name and variable per concept, variables
// under VAULTPIPE_ besides Vault's own, old names only as hidden aliases
// that warn, --version and --completion everywhere.
func TestVocabulary(t *testing.T) {
	repo, err := vaulttest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	checkConventionsREADME(t, filepath.Join(repo, "README.md"))
	byFlag := map[string]concept{}
	for _, c := range concepts {
		byFlag[c.flag] = c
	}
	for _, bin := range binaries(t, repo) {
		t.Run(bin, func(t *testing.T) {
			m := flagModel(t, bin)
			root := m.Commands[0]
			for _, want := range []string{"version", "completion"} {
				if !slices.ContainsFunc(root.Flags, func(f command.Flag) bool { return f.Name == want && !f.Hidden }) {
					t.Errorf("%s has no --%s", bin, want)
				}
			}
			for _, c := range m.Commands {
				where := strings.TrimSpace(bin + " " + c.Path)
				for _, f := range c.Flags {
					checkFlag(t, bin, where, c.Path, f, byFlag)
				}
			}
		})
	}
}

// oldName returns the concept name is an old name of, in bin.
func oldName(bin, name string) (concept, bool) {
	for _, c := range concepts {
		if slices.Contains(c.old, name) || slices.Contains(c.old, bin+":"+name) {
			return c, true
		}
	}
	return concept{}, false
}

// globalFlags are lib/command's, in every binary; testOnlyFlags are hidden
// because only tests use them.
var (
	globalFlags   = []string{"help", "version", "completion", "flags-json"}
	testOnlyFlags = []string{"trusted-key"}
)

func checkFlag(t *testing.T, bin, where, path string, f command.Flag, byFlag map[string]concept) {
	t.Helper()
	if slices.Contains(globalFlags, f.Name) || f.Hidden && slices.Contains(testOnlyFlags, f.Name) {
		return
	}
	if c, ok := oldName(bin, f.Name); ok && !f.Hidden {
		t.Errorf("%s --%s: the %s is --%s", where, f.Name, c.what, c.flag)
	}
	if f.Hidden {
		if _, ok := oldName(bin, f.Name); !ok {
			t.Errorf("%s --%s is hidden but is no old name of the vocabulary", where, f.Name)
		}
		return
	}
	if c, ok := byFlag[f.Name]; ok && c.env != "" {
		if len(f.Envs) == 0 || f.Envs[0] != c.env {
			t.Errorf("%s --%s reads %v; want $%s first", where, f.Name, f.Envs, c.env)
		}
	}
	if len(f.Envs) > 0 && !strings.HasPrefix(f.Envs[0], "VAULTPIPE_") && !slices.Contains(foreignEnv, f.Envs[0]) {
		t.Errorf("%s --%s reads $%s: want a VAULTPIPE_ variable (or one of Vault's own)", where, f.Name, f.Envs[0])
	}
	if f.Name == "format" {
		for _, v := range f.Enum {
			if !slices.Contains(formats, v) {
				t.Errorf("%s --format %s: want one of %v", where, v, formats)
			}
		}
	}
	for _, alias := range f.Aliases {
		c, ok := oldName(bin, alias)
		if !ok || c.flag != f.Name {
			t.Errorf("%s --%s has alias --%s, which is no old name of it in the vocabulary", where, f.Name, alias)
			continue
		}
		// an old name works and says it is deprecated (before --help stops the run)
		args := append(strings.Fields(path), "--"+alias, "1", "--help")
		cmd := exec.Command(filepath.Join(binDir, bin), args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
		}
		want := fmt.Sprintf("%s: warning: --%s is deprecated and goes in the next release: use --%s\n", bin, alias, f.Name)
		if stderr.String() != want {
			t.Errorf("%s %s: stderr %q; want %q", bin, strings.Join(args, " "), stderr.String(), want)
		}
	}
}

func flagModel(t *testing.T, bin string) command.Model {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, bin), "--flags-json").Output()
	if err != nil {
		t.Fatalf("%s --flags-json: %v", bin, err)
	}
	var m command.Model
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s --flags-json: %v", bin, err)
	}
	if len(m.Commands) == 0 {
		t.Fatalf("%s --flags-json: no commands", bin)
	}
	return m
}

func conventionsTable() string {
	var b strings.Builder
	b.WriteString("| concept | flag | environment | values | old names (one release, with a warning) |\n|---|---|---|---|---|\n")
	for _, c := range concepts {
		env, old := "—", "—"
		if c.env != "" {
			env = "`" + c.env + "`"
		}
		if len(c.old) > 0 {
			var names []string
			for _, o := range c.old {
				if bin, name, ok := strings.Cut(o, ":"); ok {
					names = append(names, fmt.Sprintf("`--%s` (%s)", name, bin))
				} else {
					names = append(names, "`--"+o+"`")
				}
			}
			old = strings.Join(names, ", ")
		}
		fmt.Fprintf(&b, "| %s | `--%s` | %s | %s | %s |\n", c.what, c.flag, env, c.values, old)
	}
	return b.String()
}

func checkConventionsREADME(t *testing.T, path string) {
	t.Helper()
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- conventions: begin -->\n", "<!-- conventions: end -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", strings.TrimSpace(begin), end)
	}
	got, want := string(readme[i+len(begin):j]), conventionsTable()
	if got != want && *update {
		out := append(append(append([]byte{}, readme[:i+len(begin)]...), want...), readme[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("README.md's conventions table differs from testscripts/vocabulary_test.go (-update rewrites it); want:\n%s", want)
	}
}
