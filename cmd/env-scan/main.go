// The env-scan command finds secrets held in a source tree — hard-coded in
// code, sitting in .env files, or read from environment variables — so they
// can be moved to Vault, and proves none are left. It works as a
// pre-commit gate.
//
// Usage:
//
//	env-scan [--format auto|jsonl|sarif|table] [--all] [--min-confidence LEVEL]
//	         [--fail-on KINDS] [--baseline FILE [--moved OLD=NEW]...]
//	         [--write-baseline FILE] [--staged] [--env-helper NAME]...
//	         [--config .gitleaks.toml] [--key-file FILE] [PATH...]
//
// PATHs are files or directories (default "."). Directories are walked in
// parallel, skipping .git, vendor, node_modules, virtualenvs, symlinks and
// binary files; named files are always scanned, which is what the
// pre-commit hook does. With --staged it scans the content staged in the
// git index instead (for a plain .git/hooks/pre-commit).
//
// Three kinds of findings are reported:
//
//	secret   a hard-coded secret matched by a gitleaks rule (its default
//	         rules, or the repository's .gitleaks.toml; a line with a
//	         gitleaks:allow comment is skipped)
//	dotenv   a .env, .env.* or *.env entry whose value looks secret, by
//	         name and value: password, token, secret, key, credential,
//	         DSN/URL with a password, private key block, high entropy.
//	         Plain configuration (LOG_LEVEL=info) is listed only with --all;
//	         vault: references and ${VAR} expansions are never findings
//	env_ref  a place that reads a secret-looking variable from the
//	         environment: Python os.environ/os.getenv, Dagster EnvVar and
//	         {"env": …} (calls may span lines), JavaScript/TypeScript
//	         process.env.X and import.meta.env.X, dbt {{ env_var('X') }},
//	         YAML/Compose environment: (anchors and flow maps too), env:,
//	         env_file: and ${X} (a ${X:-default} default that is a
//	         credential counts as a literal value), systemd
//	         Environment=/EnvironmentFile=, shell export, and a project's
//	         own helpers named with --env-helper NAME (NAME("X") in Python
//	         or JS/TS). Reads of other names are listed only with --all
//
// A scanner keeps scanning: a .env line that is not KEY=VALUE (a
// "KEY: value" line, a pasted token) is skipped with a warning on stderr
// naming the file and line, never its text, and the file's other entries
// are still reported; a .env-named diff or patch (recognised by content) is
// scanned for hard-coded secrets only. These warnings also go into SARIF's
// invocations[0].toolExecutionNotifications, with the files that could not
// be read (which make the exit status 1). env-import, which writes what it
// reads, stays strict.
//
// Findings of every kind are reported; by default only hard-coded values
// make the exit status 3 — secret and dotenv findings, and env_ref ones
// that set a literal secret value (Compose environment:, systemd
// Environment=, export) — so code that reads its secrets from the
// environment passes a pre-commit hook. --fail-on
// KINDS (comma-separated) chooses the kinds that fail: --fail-on
// secret,dotenv,env_ref is the strict gate "no secret in env-var patterns
// either" that CI and make demo use. The error message counts findings by
// kind: "3 secret, 2 dotenv, 75 env_ref finding(s)".
//
// Output (stdout): with --format jsonl (the default when stdout is not a
// terminal) one JSON object per finding: {"file", "line", "column",
// "kind", "rule", "name", "confidence", "fingerprint"}; line and column are
// 1-based, column counts Unicode code points; confidence is high, medium,
// low or none (--all only). No part of a secret value is ever printed.
// --format sarif writes one SARIF 2.1.0 log; --format table (the default
// on a terminal) a table for people. Progress goes to stderr when it is a
// terminal.
//
// Fingerprints are HMAC-SHA256 of the rule and the normalised secret (the
// variable name for env_ref without a value), keyed so that a baseline
// cannot be brute-forced back to weak passwords. The key is read from
// $VAULTPIPE_SCAN_KEY, else from --key-file ($VAULTPIPE_SCAN_KEY_FILE), else from
// ~/.config/vaultpipe/env-scan.key, created (0600, random) on first use.
// Share one key (a CI secret) wherever one baseline is used. --write-baseline
// FILE records the current findings and exits 0; --baseline FILE reports
// only findings not in it, matched by fingerprint and file: moving code
// within a file does not re-report it, a new secret on an old line is
// reported, and so is a baselined secret copied into another file. A file
// or directory that moved is said so explicitly: --moved OLD=NEW
// (repeatable) matches the entries recorded under OLD against NEW; or
// rewrite the baseline. A finding baselined under another file gives a
// warning. A version 1 baseline (fingerprint only) is read as version 2,
// with a warning to rewrite it.
//
// Exit status:
//
//	0  no findings of a failing kind
//	1  failure (unreadable file, bad config)
//	2  usage error (including a fingerprint key that is too short)
//	3  findings of a failing kind reported (secret, dotenv; see --fail-on)
//
// Example:
//
//	env-scan . | jq -r 'select(.confidence == "high") | "\(.file):\(.line) \(.name)"'
//	env-scan --format sarif > env-scan.sarif
//	env-scan --write-baseline .env-scan-baseline.json && env-scan --baseline .env-scan-baseline.json
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/scan"
	"github.com/vaultpipe/vaultpipe/lib/scan/gitleaks"
)

const name = "env-scan"

type cli struct {
	Paths         []string `arg:"" optional:"" name:"path" help:"Files or directories to scan (default .)."`
	Format        string   `enum:"auto,jsonl,sarif,table" default:"auto" env:"VAULTPIPE_FORMAT" help:"Output format: auto (table on a terminal, else jsonl), jsonl, sarif, table."`
	All           bool     `help:"Also list plain configuration entries and reads of non-secret variables (confidence none)."`
	MinConfidence string   `name:"min-confidence" enum:"low,medium,high" default:"low" help:"Report only findings at least this certain."`
	Baseline      string   `placeholder:"FILE" help:"Report only findings not recorded in this baseline (matched by fingerprint and file)."`
	Moved         []string `placeholder:"OLD=NEW" help:"With --baseline: the file or directory OLD (as recorded) is now NEW. Repeatable."`
	WriteBaseline string   `name:"write-baseline" placeholder:"FILE" help:"Record the current findings in FILE and exit 0."`
	Staged        bool     `help:"Scan the files staged in the git index (their staged content)."`
	Config        string   `placeholder:"FILE" env:"GITLEAKS_CONFIG" help:"gitleaks rules file (default: .gitleaks.toml at the scan root when present, else gitleaks' defaults)."`
	KeyFile       string   `name:"key-file" placeholder:"FILE" env:"VAULTPIPE_SCAN_KEY_FILE,ENV_SCAN_KEY_FILE" help:"Fingerprint key file ($VAULTPIPE_SCAN_KEY overrides; default ~/.config/vaultpipe/env-scan.key, created on first use)."`
	FailOn        string   `name:"fail-on" placeholder:"KINDS" default:"secret,dotenv" env:"VAULTPIPE_FAIL_ON" help:"Finding kinds that make the exit status 3, comma-separated: secret, dotenv, env_ref (the strict gate: --fail-on secret,dotenv,env_ref)."`
	EnvHelper     []string `name:"env-helper" placeholder:"NAME" help:"A function of your own that reads an environment variable, called as NAME(\"VAR\") in Python or JavaScript/TypeScript (env, settings.env). Repeatable."`
	Workers       int      `default:"0" env:"VAULTPIPE_WORKERS" help:"Files scanned at once (default 2 per CPU)."`
	NoProgress    bool     `name:"no-progress" help:"Never show progress on stderr."`
}

const description = `Find secrets in code, .env files and environment-variable reads.
Output: JSON lines (file, line, column, kind, rule, name, confidence,
fingerprint), SARIF or a table; never a secret value.

Exit status:
  0  no findings of a failing kind
  1  failure (unreadable file, bad config)
  2  usage error (including a fingerprint key that is too short)
  3  findings of a failing kind reported (secret, dotenv; see --fail-on)

Example:
  env-scan --format sarif . > env-scan.sarif`

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

func (c *cli) Run(env *command.Env) error {
	ctx, stdout, stderr := env.Context(), env.Stdout, env.Stderr
	if os.Getenv(scan.KeyEnv) == "" && os.Getenv(scan.LegacyKeyEnv) != "" {
		env.Warnf("%s is deprecated and goes in the next release: use %s", scan.LegacyKeyEnv, scan.KeyEnv)
	}
	if c.Staged && len(c.Paths) > 0 {
		return fault.Usagef("--staged scans the git index; give no paths with it")
	}
	failOn, err := scan.ParseKinds(c.FailOn)
	if err != nil {
		return fault.Usagef("--fail-on: %v", err)
	}
	keyer, err := scan.LoadKey(c.KeyFile)
	if err != nil {
		return err
	}
	var base *scan.Baseline
	if c.Baseline != "" {
		if base, err = scan.LoadBaseline(c.Baseline, keyer); err != nil {
			return err
		}
		if base.Migrated != 0 {
			fmt.Fprintf(stderr, "%s: warning: %s is a version %d baseline (matched by fingerprint only); it is read as version 2, matched by fingerprint and file: rewrite it with --write-baseline\n", name, c.Baseline, base.Migrated)
		}
		for _, m := range c.Moved {
			from, to, ok := strings.Cut(m, "=")
			if !ok || from == "" || to == "" {
				return fault.Usagef("--moved %q: want OLD=NEW (a file or directory path as reported)", m)
			}
			if base.Move(from, to) == 0 {
				fmt.Fprintf(stderr, "%s: warning: --moved %s: no baseline entry is under %s\n", name, m, from)
			}
		}
	} else if len(c.Moved) > 0 {
		return fault.Usagef("--moved applies to a --baseline")
	}

	root := scan.Root(c.Paths)
	var staged []scan.Source
	if c.Staged {
		if root, staged, err = scan.StagedSources(ctx, "."); err != nil {
			return err
		}
	} else if len(c.Paths) == 0 {
		c.Paths = []string{"."}
	}
	engine, err := gitleaks.New(scan.RulesFile(c.Config, root))
	if err != nil {
		return fault.New(fault.BadInput, "", "", err)
	}
	s := &scan.Scanner{Engine: engine, Keyer: keyer, All: c.All, Workers: c.Workers}
	if len(c.EnvHelper) > 0 {
		if s.EnvHelper, err = scan.HelperPattern(c.EnvHelper); err != nil {
			return fault.Usagef("--env-helper: %v", err)
		}
	}

	stopProgress := func() {}
	if !c.NoProgress && command.IsTerminal(stderr) {
		stopProgress = showProgress(s, stderr)
	}
	var res *scan.Result
	if c.Staged {
		res = s.ScanList(ctx, staged)
	} else {
		res, err = s.ScanPaths(ctx, c.Paths)
	}
	stopProgress()
	if err != nil {
		return err
	}

	min, _ := scan.ParseConfidence(c.MinConfidence)
	findings := scan.Select(res.Findings, min, c.All)
	if c.WriteBaseline != "" {
		return scan.NewBaseline(keyer, findings).Write(c.WriteBaseline)
	}
	if base != nil {
		var elsewhere int
		if findings, elsewhere = base.Filter(findings); elsewhere > 0 {
			fmt.Fprintf(stderr, "%s: warning: %d finding(s) are in the baseline under another file: a secret copied there, or a moved file (say so with --moved OLD=NEW)\n", name, elsewhere)
		}
	}

	format := c.Format
	if format == "auto" {
		format = "jsonl"
		if command.IsTerminal(stdout) {
			format = "table"
		}
	}
	switch format {
	case "jsonl":
		err = scan.WriteJSONLines(stdout, findings)
	case "sarif":
		err = scan.WriteSARIF(stdout, name, sarifVersion(), findings, res.Notices, res.Errors)
	case "table":
		err = scan.WriteTable(stdout, findings)
	}
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}

	for _, n := range res.Notices {
		fmt.Fprintf(stderr, "%s: warning: %s\n", name, n)
	}
	if len(res.Errors) > 0 {
		for _, e := range res.Errors {
			fmt.Fprintf(stderr, "%s: error: %s\n", name, e)
		}
		return fault.WithHint(fmt.Errorf("%d file(s) could not be scanned", len(res.Errors)), "fix or exclude them; the other files were scanned")
	}
	if scan.Failing(findings, failOn) > 0 {
		return fault.WithHint(fault.Errorf(fault.Findings, "%s", scan.Count(findings)),
			"move them to Vault (env-import), mark false positives with a gitleaks:allow comment, or accept them with --write-baseline")
	}
	return nil
}

// sarifVersion is the tool version SARIF records.
func sarifVersion() string {
	v, _ := command.Version()
	return v
}

// showProgress redraws one status line on stderr until stopped.
func showProgress(s *scan.Scanner, w io.Writer) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				files, bytes := s.Progress()
				fmt.Fprintf(w, "\r\033[Kenv-scan: %d files, %.1f MiB scanned", files, float64(bytes)/(1<<20))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
