package testscripts

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// exitCase drives one binary into one exit status.
type exitCase struct {
	args  []string
	env   []string          // on top of PATH and HOME; Vault's variables only from here
	files map[string]string // written under the case's working directory first
	stdin string
	// before runs first and must succeed (the same binary, other arguments).
	before []string
}

// servers are the real Vault servers the cases run against.
type servers struct {
	active, sealed, uninit, standby *vaulttest.Server
}

func (s *servers) env(v *vaulttest.Server, token string) []string {
	return []string{"VAULT_ADDR=" + v.Addr, "VAULT_CACERT=" + v.CACert, "VAULT_TOKEN=" + token}
}

// auditLine is one Vault file-audit line.
const auditLine = `{"request":{"id":"r1","operation":"read","path":"secret/data/x"},"time":"2026-12-01T10:00:00Z","type":"request"}` + "\n"

// exitCases lists, for every binary of cmd/, a case for each exit status
// its --help documents; TestExitCodes fails when a binary documents a code
// that has no case here, or has a case for a code it does not document.
func exitCases(t *testing.T, s *servers) map[string]map[int]exitCase {
	root := s.env(s.active, s.active.Token)
	bogus := "hvs.not-a-token-000000000000"
	canary := "CANARY-exitcodes-" + randomHex(t)
	ports, err := vaulttest.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	nowhere := fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	listen := []string{"--listen", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[2])}
	install := func(cmd string, extra ...string) []string {
		return append(append([]string{cmd, "--root", "$DIR/root", "--binary", vaultBinary, "--node-id", "n1", "--key-shares", "1", "--key-threshold", "1"}, listen...), extra...)
	}
	withEnv := func(env []string, more ...string) []string { return append(slices.Clone(env), more...) }
	scanKey := "VAULTPIPE_SCAN_KEY=exitcodes-fingerprint-key-0001"
	return map[string]map[int]exitCase{
		"env-scan": {
			0: {args: []string{"clean"}, env: []string{scanKey}, files: map[string]string{"clean/main.go": "package main\n"}},
			1: {args: []string{"missing-dir"}, env: []string{scanKey}},
			2: {args: []string{"--no-such-flag"}, env: []string{scanKey}},
			3: {args: []string{"dirty"}, env: []string{scanKey}, files: map[string]string{"dirty/.env": "DB_PASSWORD=" + canary + "\n"}},
		},
		"env-import": {
			0: {args: []string{"plan", "app/.env"}, env: root, files: map[string]string{"app/.env": "K=" + canary + "\n"}},
			1: {args: []string{"plan", "bad/.env"}, env: root, files: map[string]string{"bad/.env": "K=\"" + canary + "\n"}},
			2: {args: []string{"plan", "--no-such-flag"}, env: root},
			// theirs/.env is applied first: mine/.env's other value conflicts.
			3: {args: []string{"plan", "--app", "contested", "mine/.env"}, env: root, files: map[string]string{
				"theirs/.env": "K=" + canary + "-theirs\n", "mine/.env": "K=" + canary + "-mine\n"},
				before: []string{"apply", "--app", "contested", "theirs/.env"}},
			4: {args: []string{"plan", "app/.env"}, env: s.env(s.sealed, s.sealed.Token), files: map[string]string{"app/.env": "K=" + canary + "\n"}},
			5: {args: []string{"plan", "app/.env"}, env: s.env(s.uninit, bogus), files: map[string]string{"app/.env": "K=" + canary + "\n"}},
			6: {args: []string{"plan", "app/.env"}, env: s.env(s.active, bogus), files: map[string]string{"app/.env": "K=" + canary + "\n"}},
		},
		"vault-health": {
			0: {env: root},
			1: {args: []string{"--max-retries", "0"}, env: withEnv(root, "VAULT_ADDR="+nowhere)},
			2: {args: []string{"--no-such-flag"}, env: root},
			3: {env: s.env(s.standby, "")},
			4: {env: s.env(s.sealed, "")},
			5: {env: s.env(s.uninit, "")},
		},
		"vault-policy": {
			0: {args: []string{"--shipped", "lint"}},
			1: {args: []string{"--dir", "empty", "lint"}, files: map[string]string{"empty/README": "no policies here\n"}},
			2: {args: []string{"lint", "--no-such-flag"}},
			3: {args: []string{"--shipped", "sync", "--dry-run", "--exit-code"}, env: root},
			4: {args: []string{"--shipped", "sync", "--dry-run"}, env: s.env(s.sealed, s.sealed.Token)},
			5: {args: []string{"--shipped", "sync", "--dry-run"}, env: s.env(s.uninit, bogus)},
			6: {args: []string{"--shipped", "sync", "--dry-run"}, env: s.env(s.active, bogus)},
		},
		"vault-rotate": rotateExitCases(t, s, root, bogus),
		"vault-broker": brokerExitCases(t, s, nowhere, bogus),
		"vault-unseal": {
			// already unsealed: the share is read, checked and not submitted
			0: {args: []string{"--share-file", "share"}, env: root, files: map[string]string{"share": s.active.UnsealKeys[0] + "\n"}},
			1: {args: []string{"--wait", "1s", "--address", nowhere, "--share-file", "share"}, files: map[string]string{"share": s.active.UnsealKeys[0] + "\n"}},
			2: {args: []string{"--no-such-flag"}},
			// one share of a threshold of two: still sealed
			4: {args: []string{"--share-file", "share"}, env: s.env(s.sealed, ""), files: map[string]string{"share": s.sealed.UnsealKeys[0] + "\n"}},
			5: {args: []string{"--share-file", "share"}, env: s.env(s.uninit, ""), files: map[string]string{"share": s.active.UnsealKeys[0] + "\n"}},
		},
		"vault-snap": {
			0: {args: []string{"prune", "--dir", "snaps", "--dry-run"}, files: map[string]string{"snaps/README": "no snapshots yet\n"}},
			1: {args: []string{"verify", "stray.snap"}, files: map[string]string{"stray.snap": "not a snapshot\n"}},
			2: {args: []string{"--no-such-flag"}},
			3: {args: []string{"drill", "snaps", "--share-file", "shares", "--expect-kv-count", "secret/=999999"},
				env:    withEnv(root, "VAULT_BINARY="+vaultBinary),
				files:  map[string]string{"snaps/.keep": "", "shares": strings.Join(s.active.UnsealKeys, "\n") + "\n"},
				before: []string{"save", "--dir", "snaps"}},
			4: {args: []string{"save", "--dir", "snaps"}, env: s.env(s.sealed, s.sealed.Token), files: map[string]string{"snaps/.keep": ""}},
			5: {args: []string{"save", "--dir", "snaps"}, env: s.env(s.uninit, bogus), files: map[string]string{"snaps/.keep": ""}},
			6: {args: []string{"save", "--dir", "snaps"}, env: s.env(s.active, bogus), files: map[string]string{"snaps/.keep": ""}},
		},
		"audit-filter": {
			0: {args: []string{"audit.log"}, files: map[string]string{"audit.log": auditLine}},
			1: {args: []string{"missing.log"}},
			2: {args: []string{"--no-such-flag"}},
			3: {args: []string{"--expect-none", "audit.log"}, files: map[string]string{"audit.log": auditLine}},
			4: {args: []string{"--value-from-stdin", "audit.log"}, env: s.env(s.sealed, s.sealed.Token), stdin: canary, files: map[string]string{"audit.log": auditLine}},
			6: {args: []string{"--value-from-stdin", "audit.log"}, env: s.env(s.active, bogus), stdin: canary, files: map[string]string{"audit.log": auditLine}},
		},
		"audit-archive": {
			0: {args: []string{"--log", "log/audit.log", "--no-rotate"}, files: map[string]string{"log/audit.log": auditLine}},
			1: {args: []string{"--log", "log/audit.log", "--pid-file", "vault.pid"}, files: map[string]string{"log/audit.log": auditLine, "vault.pid": "not a pid\n"}},
			2: {args: []string{"--no-such-flag"}},
		},
		"vault-install": {
			0: {args: install("plan")},
			1: {args: []string{"unseal", "--address", nowhere}, stdin: "not a key share\n"},
			2: {args: []string{"plan", "--no-such-flag"}},
			3: {args: install("apply"), env: s.env(s.active, "")},
			4: {args: install("apply"), env: s.env(s.sealed, "")},
			6: {args: install("apply"), env: s.env(s.active, bogus)},
		},
	}
}

// brokerExitCases drive vault-broker renew: a periodic token of the
// active server renews (0); the others fail before or at the renewal.
func brokerExitCases(t *testing.T, s *servers, nowhere, bogus string) map[int]exitCase {
	tok, err := s.active.Client().Auth().Token().Create(&api.TokenCreateRequest{
		Period: "1h", Policies: []string{"default"}, DisplayName: "exitcodes-broker"})
	if err != nil {
		t.Fatal(err)
	}
	token := func(value string) map[string]string { return map[string]string{"token": value + "\n"} }
	at := func(v *vaulttest.Server) []string {
		return []string{"VAULT_ADDR=" + v.Addr, "VAULT_CACERT=" + v.CACert}
	}
	renew := func(more ...string) []string { return append([]string{"renew", "--token-file", "token"}, more...) }
	return map[int]exitCase{
		0: {args: renew(), env: at(s.active), files: token(tok.Auth.ClientToken)},
		1: {args: renew("--max-retries", "0", "--address", nowhere), env: at(s.active), files: token(bogus)},
		2: {args: []string{"--no-such-flag"}},
		4: {args: renew(), env: at(s.sealed), files: token(bogus)},
		5: {args: renew(), env: at(s.uninit), files: token(bogus)},
		6: {args: renew(), env: at(s.active), files: token(bogus)},
	}
}

// TestExitCodes runs every binary into every exit status its --help
// documents, against real Vault servers (active, sealed, uninitialised, a
// raft standby), and checks that the --help table, the doc comment's table,
// README's table and lib/fault's codes agree.
func TestExitCodes(t *testing.T) {
	repo, err := vaulttest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme := readmeExitCodes(t, filepath.Join(repo, "README.md"))
	var faultCodes []int
	for _, k := range fault.Kinds() {
		faultCodes = append(faultCodes, fault.ExitCode(k))
	}
	faultCodes = append(faultCodes, fault.ExitOK)
	slices.Sort(faultCodes)
	if got, want := slices.Compact(faultCodes), sortedKeys(readme); !slices.Equal(got, want) {
		t.Errorf("lib/fault's exit codes = %v; README's table = %v", got, want)
	}

	s := &servers{}
	s.active = vaulttest.Start(t)
	s.sealed = vaulttest.Start(t, vaulttest.Options{Sealed: true})
	s.uninit = vaulttest.Start(t, vaulttest.Options{NoInit: true})
	s.standby = vaulttest.Start(t, vaulttest.Options{JoinTo: s.active})
	cases := exitCases(t, s)

	for _, bin := range binaries(t, repo) {
		t.Run(bin, func(t *testing.T) {
			help := runHelp(t, bin)
			doc := docExitTable(t, filepath.Join(repo, "cmd", bin, "main.go"))
			if !equalTables(help, doc) {
				t.Errorf("%s --help exit table:\n%s\ndoc comment's:\n%s", bin, formatTable(help), formatTable(doc))
			}
			for code := range help {
				if _, ok := readme[code]; !ok {
					t.Errorf("%s documents exit status %d, which README's table does not have", bin, code)
				}
			}
			bc := cases[bin]
			if got, want := sortedKeys(bc), sortedKeys(help); !slices.Equal(got, want) {
				t.Fatalf("cases for %s cover exit statuses %v; its --help documents %v", bin, got, want)
			}
			for _, code := range sortedKeys(bc) {
				t.Run(strconv.Itoa(code), func(t *testing.T) {
					c := bc[code]
					out, stderr, got := runCase(t, bin, c)
					if got != code {
						t.Errorf("%s %s = exit %d; want %d (%s)\nstdout:\n%s\nstderr:\n%s", bin, strings.Join(c.args, " "), got, code, help[code], out, stderr)
					}
					if code != 0 && code != fault.ExitAttention && !strings.Contains(stderr, bin+": error: ") {
						t.Errorf("%s exit %d printed no %q line:\n%s", bin, code, bin+": error: ", stderr)
					}
				})
			}
		})
	}
}

// binaries names the binaries of cmd/.
func binaries(t *testing.T, repo string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(repo, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// runCase runs bin in a fresh directory holding c.files, with only PATH,
// HOME and c.env in its environment.
func runCase(t *testing.T, bin string, c exitCase) (stdout, stderr string, code int) {
	dir := t.TempDir()
	for name, content := range c.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append([]string{
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, ".home"),
	}, c.env...)
	run := func(args []string, stdin string) (string, string, int) {
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "$DIR", dir)
		}
		cmd := exec.Command(filepath.Join(binDir, bin), args...)
		cmd.Dir, cmd.Env = dir, env
		cmd.Stdin = strings.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running %s: %v", bin, err)
		}
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}
	if c.before != nil {
		if o, e, code := run(slices.Clone(c.before), ""); code != 0 {
			t.Fatalf("%s %s = exit %d\n%s%s", bin, strings.Join(c.before, " "), code, o, e)
		}
	}
	return run(slices.Clone(c.args), c.stdin)
}

func runHelp(t *testing.T, bin string) map[int]string {
	out, err := exec.Command(filepath.Join(binDir, bin), "--help").Output()
	if err != nil {
		t.Fatalf("%s --help: %v", bin, err)
	}
	tab := exitTable(string(out))
	if len(tab) == 0 {
		t.Fatalf("%s --help has no \"Exit status:\" table:\n%s", bin, out)
	}
	return tab
}

func docExitTable(t *testing.T, path string) map[int]string {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatalf("%s has no package doc", path)
	}
	tab := exitTable(f.Doc.Text())
	if len(tab) == 0 {
		t.Fatalf("%s: the doc comment has no \"Exit status:\" table", path)
	}
	return tab
}

var (
	exitEntry = regexp.MustCompile(`^\s+([0-9])\s\s+(\S.*)$`)
	exitMore  = regexp.MustCompile(`^\s{3,}(\S.*)$`)
)

// exitTable reads the "Exit status:" block of a help text or doc comment:
// indented lines "N  meaning", continued by further-indented lines.
func exitTable(text string) map[int]string {
	lines := strings.Split(text, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "Exit status:" })
	if i < 0 {
		return nil
	}
	tab := map[int]string{}
	last := -1
	for _, l := range lines[i+1:] {
		if strings.TrimSpace(l) == "" {
			if last >= 0 {
				break
			}
			continue
		}
		if m := exitEntry.FindStringSubmatch(l); m != nil {
			last, _ = strconv.Atoi(m[1])
			tab[last] = m[2]
		} else if m := exitMore.FindStringSubmatch(l); m != nil && last >= 0 {
			tab[last] += " " + m[1]
		} else {
			break
		}
	}
	return tab
}

// readmeExitCodes reads the rows "| N | meaning |" of README's exit code
// table.
func readmeExitCodes(t *testing.T, path string) map[int]string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| ([0-9]) \| (.+) \|$`)
	tab := map[int]string{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		n, _ := strconv.Atoi(m[1])
		tab[n] = m[2]
	}
	if len(tab) == 0 {
		t.Fatalf("%s has no exit code table", path)
	}
	return tab
}

func equalTables(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(strings.Fields(b[k]), " ") != strings.Join(strings.Fields(v), " ") {
			return false
		}
	}
	return true
}

func formatTable(tab map[int]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(tab) {
		fmt.Fprintf(&b, "  %d  %s\n", k, tab[k])
	}
	return b.String()
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestScriptsAssertExactCodes keeps scripts from saying only "it failed":
// a failure is `exits N prog …` with the code the binary documents, never
// `! exec`, nor a shell printing $?.
func TestScriptsAssertExactCodes(t *testing.T) {
	files, err := filepath.Glob("*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	notExec := regexp.MustCompile(`^(\[[^\]]*\]\s*)*!\s*exec\s`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "-- ") {
				break // the script ends where its files begin
			}
			if notExec.MatchString(line) || strings.Contains(line, "$?") {
				t.Errorf("%s:%d: %s\n\twant exits N PROG ARGS (or exits-start/exits-wait) with the documented code", f, i+1, line)
			}
		}
	}
}
