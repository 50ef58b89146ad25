// The audit-filter command answers "who read what, when" from Vault's file
// audit logs: it filters their JSON lines by user, time, operation, path and
// outcome, at disk speed, across a rotated set of plain, gzip and zstd files.
//
// Usage:
//
//	audit-filter [filter flags] [--fields LIST | --stats | --pair] [--fail-on match] [FILE|DIR ...]
//	audit-filter --value-from-stdin [--audit-device NAME] [filter flags] FILE|DIR ... < value
//
// With no FILE (or "-") it reads stdin. Files are decompressed by their
// first bytes (gzip, zstd) and read oldest first: archives with a date in
// their name by name, logrotate's audit.log.N from the highest N, then the
// live log. A DIR stands for the files of one audit device in it
// (--log-name, default audit: audit.log, audit.log.N, audit-<date>.log, each
// maybe .gz or .zst), since a second device logs the same requests.
//
// Filters (all given must match; a repeated flag matches any of its values):
// --user (auth display_name, entity_id, or the AppRole role_name Vault logs
// in auth.metadata), --since/--until (RFC 3339 or a duration back from now:
// 24h, 7d), --op (read, create, update, delete, list, …), --path (glob on
// request.path: * any run of characters, / included; ? one character),
// --mount, --type request|response, --errors, --policy, --remote-addr,
// --request-id. --value-from-stdin reads a value on stdin, asks Vault for its
// audit HMAC (sys/audit-hash/DEVICE; the auditor AppRole may) and keeps the
// lines holding it; the value is never printed, logged or put in argv.
//
// Output (stdout): the matching lines as they are in the log (JSON lines),
// or with --fields a flat JSON object per line with the fields asked for
// (time, type, request_id, user, display_name, entity_id, role_name,
// operation, path, mount, mount_type, remote_address, policies, error; user
// is role_name, else display_name, else entity_id); a table on a terminal.
// --pair joins each request to its response: {"request_id", "time",
// "response_time", "user", "display_name", "role_name", "entity_id",
// "operation", "path", "remote_address", "error", "status"} with status ok,
// error, no_response or no_request. --stats prints one JSON document:
// {"lines", "matched", "malformed", "requests", "responses", "errors",
// "first", "last", "by_user", "by_path", "by_operation", "by_hour"} (by_*
// count requests, or responses with --type response).
//
// Lines that are not audit JSON (garbage, a truncated last line) and lines
// over 64 MiB are reported on stderr as "audit-filter: warning: FILE:LINE:
// …" and skipped; the scan goes on, and the exit status is then 1: the
// answer (an empty --expect-none included) does not cover them.
//
// Exit status:
//
//	0  done
//	1  failure: a file cannot be read, lines were skipped, Vault unreachable (--value-from-stdin)
//	2  usage error
//	3  --fail-on match was given and lines matched
//	4  Vault is sealed (--value-from-stdin)
//	6  permission denied (--value-from-stdin)
//
// Example:
//
//	audit-filter --path 'secret/data/shop/*' --op read --pair --since 24h /var/log/vault/ \
//	  | jq -r 'select(.status=="ok") | [.time, .user, .path] | @tsv'
//	audit-filter --errors --since 1h --fail-on match /var/log/vault/audit.log >/dev/null || alert
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/auditlog"
	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/duration"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "audit-filter"

const description = `Filter Vault file-audit logs (plain, .gz, .zst; a rotated set in order) by user, time, operation, path and outcome.

Output: the matching lines as logged (JSON lines); --fields LIST a flat object per line
(time, type, request_id, user, display_name, entity_id, role_name, operation, path, mount,
mount_type, remote_address, policies, error); --pair request+response joined by request id
(status ok, error, no_response, no_request); --stats one JSON document of counts
(by_user, by_path, by_operation, by_hour). A table on a terminal.

Exit status:
  0  done
  1  failure: a file cannot be read, lines were skipped, Vault unreachable (--value-from-stdin)
  2  usage error
  3  --fail-on match was given and lines matched
  4  Vault is sealed (--value-from-stdin)
  6  permission denied (--value-from-stdin)

Example:
  audit-filter --path 'secret/data/shop/*' --op read --pair --since 24h /var/log/vault/`

type cli struct {
	Files      []string `arg:"" optional:"" name:"file" help:"Audit logs or directories of them (default: stdin)."`
	User       []string `placeholder:"NAME" help:"display_name, entity_id or AppRole role_name (repeatable)."`
	Since      string   `placeholder:"TIME" help:"From this time: RFC 3339, or a duration back from now (24h, 7d)."`
	Until      string   `placeholder:"TIME" help:"Before this time: RFC 3339, or a duration back from now."`
	Op         []string `placeholder:"OP" help:"Operation: read, create, update, delete, list, ... (repeatable)."`
	Path       []string `placeholder:"GLOB" help:"Glob on the request path; * matches across / (repeatable)."`
	Mount      []string `placeholder:"MOUNT" help:"Mount point, e.g. secret (repeatable)."`
	Type       string   `enum:",request,response" default:"" help:"Only request or only response entries."`
	Errors     bool     `help:"Only entries with an error."`
	Policy     []string `placeholder:"NAME" help:"The token carried this policy (repeatable)."`
	RemoteAddr []string `name:"remote-addr" placeholder:"IP" help:"Client address (repeatable)."`
	RequestID  []string `name:"request-id" placeholder:"ID" help:"Request id (repeatable)."`

	Fields     []string `sep:"," placeholder:"LIST" help:"Print these fields as a flat JSON object per line."`
	Stats      bool     `xor:"mode" help:"Print counts by user, path, operation and hour as one JSON document."`
	Pair       bool     `xor:"mode" help:"Join each request to its response by request id."`
	Format     string   `enum:"auto,jsonl,json,table" default:"auto" env:"VAULTPIPE_FORMAT" help:"jsonl (JSON lines), table, or auto (a table on a terminal, else jsonl)."`
	FailOn     string   `name:"fail-on" enum:",match" default:"" env:"VAULTPIPE_FAIL_ON" placeholder:"match" help:"match: exit 3 when any line matches (for alerting)."`
	ExpectNone bool     `name:"expect-none" hidden:"" help:"Old name of --fail-on match."`

	ValueFromStdin bool   `name:"value-from-stdin" help:"Read a value on stdin and find the lines holding its audit HMAC."`
	AuditDevice    string `name:"audit-device" default:"file" help:"Audit device whose HMAC key --value-from-stdin uses."`
	LogName        string `name:"log-name" default:"audit" help:"In a DIR, read the files of this log: NAME.log, NAME.log.N, NAME-<date>.log (.gz, .zst)."`
	Workers        int    `default:"0" env:"VAULTPIPE_WORKERS" help:"Decoding goroutines (default: one per core)."`

	Vault vaultclient.Flags `embed:""`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

func (c *cli) Run(env *command.Env) error {
	ctx, stdin, stdout, stderr := env.Context(), env.Stdin, env.Stdout, env.Stderr
	if c.ExpectNone {
		env.Warnf("--expect-none is deprecated and goes in the next release: use --fail-on match")
		c.FailOn = "match"
	}
	if c.Format == "json" {
		env.Warnf("--format json is deprecated for JSON lines and goes in the next release: use --format jsonl")
		c.Format = "jsonl"
	}
	now := time.Now()
	f := auditlog.Filter{Users: c.User, Ops: c.Op, Paths: c.Path, Mounts: c.Mount, Type: c.Type, Errors: c.Errors,
		Policies: c.Policy, RemoteAddr: c.RemoteAddr, RequestIDs: c.RequestID}
	var err error
	if f.Since, err = parseTime(c.Since, now); err != nil {
		return fault.Usagef("--since: %v", err)
	}
	if f.Until, err = parseTime(c.Until, now); err != nil {
		return fault.Usagef("--until: %v", err)
	}
	if err := checkOps(c.Op); err != nil {
		return err
	}
	if err := checkGlobs(c.Path); err != nil {
		return err
	}
	if err := auditlog.CheckFields(c.Fields); err != nil {
		return fault.Usagef("--fields: %v", err)
	}
	if len(c.Fields) > 0 && (c.Stats || c.Pair) {
		return fault.Usagef("--fields projects lines: not with --stats or --pair")
	}
	if c.Pair && c.Type != "" {
		return fault.Usagef("--pair joins requests and responses: not with --type")
	}
	sources, err := sourcesOf(c.Files, c.LogName, stdin, c.ValueFromStdin)
	if err != nil {
		return err
	}
	if c.ValueFromStdin {
		hash, err := auditHash(env, c.AuditDevice)
		if err != nil {
			return err
		}
		f.Contains = []string{hash}
	}
	m, err := auditlog.Compile(f)
	if err != nil {
		return fault.Usagef("%v", err)
	}

	table := c.Format == "table" || c.Format == "auto" && command.IsTerminal(stdout)
	out := bufio.NewWriterSize(stdout, 256<<10)
	jl := jsonout.NewLines(out)
	var (
		stats  = auditlog.NewStats()
		pairer auditlog.Pairer
		tw     = &tableWriter{w: out}
	)
	writePair := func(ps []auditlog.Pair) error {
		for i := range ps {
			p := &ps[i]
			if table {
				tw.row(p.Time, "pair", p.User, p.Operation, p.Path, p.Status+" "+p.Error)
				continue
			}
			if err := jl.Write(p); err != nil {
				return err
			}
		}
		return nil
	}
	emit := func(h *auditlog.Hit) error {
		e := h.Entry
		switch {
		case c.Stats:
			stats.Add(e, c.Type == "response")
		case c.Pair:
			return writePair(pairer.Add(e))
		case table:
			tw.row(e.Time, e.Type, e.User(), e.Operation, e.Path, e.Error)
		case len(c.Fields) > 0:
			return jl.Write(auditlog.Project(e, c.Fields))
		default:
			if _, err := out.Write(h.Raw); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
			return out.WriteByte('\n')
		}
		return nil
	}
	var shown int
	problem := func(p auditlog.Problem) {
		if shown++; shown <= 100 {
			fmt.Fprintf(stderr, "%s: warning: %v\n", name, p)
		}
	}
	needEntries := c.Stats || c.Pair || table || len(c.Fields) > 0
	res, err := auditlog.Scan(ctx, sources, m, auditlog.Options{Workers: c.Workers, Entries: needEntries}, emit, problem)
	if err != nil {
		out.Flush()
		return fault.New(fault.BadInput, "reading audit logs", "", err)
	}
	if c.Pair {
		if err := writePair(pairer.Flush()); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if shown > 100 {
		fmt.Fprintf(stderr, "%s: warning: %d lines skipped in all (first 100 shown)\n", name, shown)
	}
	if c.Stats {
		stats.Lines, stats.Malformed = res.Lines, res.Malformed
		if err := jsonout.Write(stdout, stats); err != nil {
			return err
		}
	}
	if err := res.Incomplete(); err != nil {
		return fault.New(fault.BadInput, "", "", err)
	}
	if c.FailOn == "match" && res.Matched > 0 {
		return fault.Errorf(fault.Findings, "%d audit entries matched", res.Matched)
	}
	return nil
}

// operations are the request operations Vault logs.
var operations = []string{"create", "read", "update", "patch", "delete", "list", "help",
	"alias-lookahead", "resolve-role", "header", "revoke", "renew", "rollback"}

// checkOps refuses an operation Vault never logs: a typo would otherwise
// match nothing, and turn --fail-on match into "all clear".
func checkOps(ops []string) error {
	for _, op := range ops {
		if !slices.Contains(operations, op) {
			return fault.Usagef("--op %q: want one of %s", op, strings.Join(operations, ", "))
		}
	}
	return nil
}

// checkGlobs refuses what looks like glob syntax this matcher does not
// have (only * and ? are special) and a leading /, which no Vault request
// path has: either would silently match nothing.
func checkGlobs(globs []string) error {
	for _, g := range globs {
		switch {
		case g == "":
			return fault.Usagef("--path: empty glob")
		case strings.HasPrefix(g, "/"):
			return fault.Usagef("--path %q: Vault logs request paths without a leading /: %s", g, strings.TrimLeft(g, "/"))
		case strings.ContainsAny(g, "[]{}\\"):
			return fault.Usagef("--path %q: only * (any run of characters, / included) and ? (one character) are special; [ ] { } and \\ are not", g)
		}
	}
	return nil
}

// parseTime reads RFC 3339, a date, or a duration back from now (24h, 7d).
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := duration.Parse(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-01T10:00:00Z) nor a duration such as 24h or 7d", s)
}

// sourcesOf turns the arguments into sources in rotation order.
func sourcesOf(args []string, logName string, stdin io.Reader, stdinTaken bool) ([]auditlog.Source, error) {
	if len(args) == 0 {
		if stdinTaken {
			return nil, fault.Usagef("--value-from-stdin reads the value on stdin: name the audit logs as arguments")
		}
		if command.IsTerminal(stdin) {
			// Nobody is going to type an audit log: say what is expected
			// rather than wait.
			return nil, fault.Usagef("no audit log named, and stdin is a terminal: name the logs or a directory (audit-filter /var/log/vault/), or pipe them in")
		}
		return []auditlog.Source{auditlog.ReaderSource("stdin", stdin)}, nil
	}
	var files []string
	for _, a := range args {
		if a == "-" {
			if stdinTaken || len(args) > 1 {
				return nil, fault.Usagef("- (stdin) must be the only log, and not with --value-from-stdin")
			}
			return []auditlog.Source{auditlog.ReaderSource("stdin", stdin)}, nil
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fault.New(fault.BadInput, "reading", a, errors.Unwrap(err))
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		inDir, err := auditlog.LogFiles(a, logName)
		if err != nil {
			return nil, err
		}
		files = append(files, inDir...)
	}
	var out []auditlog.Source
	for _, p := range auditlog.Order(files) {
		out = append(out, auditlog.FileSource(p))
	}
	return out, nil
}

// auditHash reads the value on stdin and asks Vault for its audit HMAC.
func auditHash(env *command.Env, device string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(env.Stdin, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading the value on stdin: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", fault.Usagef("--value-from-stdin: stdin is empty")
	}
	vc, err := env.Vault()
	if err != nil {
		return "", err
	}
	return auditlog.Hash(env.Context(), vc, device, v)
}

// tableWriter prints fixed-width rows (no buffering of the whole output).
type tableWriter struct {
	w      io.Writer
	header bool
}

func (t *tableWriter) row(tm time.Time, typ, user, op, path, errMsg string) {
	if !t.header {
		t.header = true
		fmt.Fprintf(t.w, "%-24s  %-8s  %-22s  %-8s  %-40s  %s\n", "TIME", "TYPE", "USER", "OP", "PATH", "ERROR")
	}
	fmt.Fprintf(t.w, "%-24s  %-8s  %-22s  %-8s  %-40s  %s\n", tm.UTC().Format("2006-01-02T15:04:05.000Z"), typ, user, op, path, errMsg)
}
