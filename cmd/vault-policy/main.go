// The vault-policy command keeps Vault's access control equal to the files
// in policies/: ACL policies, the AppRoles that carry them, and an access
// matrix it proves against the live server.
//
// Usage:
//
//	vault-policy [--policies DIR | --shipped] sync [--dry-run] [--prune] [--fail-on change] [vault flags]
//	vault-policy issue APP --secret-id-out FILE [--role-id-out FILE] [--wrap-ttl DURATION] [--cidr CIDR...] [vault flags]
//	vault-policy [--policies DIR | --shipped] check [--identity NAME...] [--format auto|json|table] [vault flags]
//	vault-policy [--policies DIR | --shipped] lint [--fail-on error|warning]
//
// DIR (default policies, or $VAULTPIPE_POLICIES) holds acl/<policy>.hcl,
// approles/<app>.hcl and matrix.hcl; see policies/README.md. --shipped uses
// the copy of the repository's policies/ built into the binary instead.
//
// sync enables AppRole auth if it is missing, writes every policy that is
// new or differs, then creates or updates every AppRole; --prune also
// deletes policies and AppRoles the files do not declare (never root or
// default). default is compared and written like any other policy (from
// acl/default.hcl, or the shipped copy of Vault's own text when DIR has
// none); --fail-on change exits 3 on any difference, extraneous objects
// included, with or without --prune. It prints one JSON document: {"dry_run", "prune", "mount",
// "changes": [{"kind": "auth|policy|approle", "name", "action":
// "create|update|unchanged|extraneous|delete", "fields", "paths", "file"}],
// "summary": {action: count}, "applied"}. A second run prints only
// unchanged (and extraneous) entries and applies nothing. fields names the
// AppRole parameters that differ; paths the policy path blocks added,
// removed or changed.
//
// issue reads APP's role_id and generates a fresh secret_id. The secret_id
// is written to --secret-id-out (mode 0600, atomically) — or, with
// --wrap-ttl, a single-use wrapping token for it — and never printed. It
// prints {"app", "role_id_file", "secret_id_file", "secret_id_accessor",
// "secret_id_ttl", "wrapped", "wrap_ttl", "wrap_accessor"}.
//
// check logs in as every identity of the matrix (its AppRole, with a
// secret_id destroyed afterwards; or a 10-minute token carrying the policy
// for an identity without an AppRole), asks sys/capabilities-self about
// each row's path and makes the row's real request — with the row's data
// as its body, if any; login rows log in with a wrapped secret_id, and
// again with the same one, which must be refused. It prints {"rows",
// "passed", "failed", "identities", "mismatches": [{"row", "file", "line",
// "identity", "path", "capability", "expect", "data", "login",
// "capabilities_self", "granted", "operation", "operation_result",
// "status", "error", "ok"}]} — or, on a terminal, a table of the
// mismatches. The caller must be allowed to issue and destroy secret_ids:
// the policy-sync AppRole (or root).
//
// A --secret-id-file holding a wrapping token (issue --wrap-ttl) is
// unwrapped at login, once; a second use is refused (exit 6).
//
// lint reads the files only and prints one JSON line per finding:
// {"file", "line", "name", "path", "rule", "severity", "message"}; rules
// are sudo-wildcard and sys-wildcard (errors), unused-policy,
// untested-identity, unbound-secret-id and prefix-glob (warnings).
//
// Exit status:
//
//	0  success; check: every row as expected; lint: no error finding
//	1  failure (Vault unreachable, a file that does not parse, an unknown AppRole…)
//	2  usage error
//	3  check: at least one mismatch; lint: an error finding (with --fail-on
//	   warning, any finding); sync --fail-on change: the server differed from the files
//	4  Vault is sealed
//	5  Vault is not initialised
//	6  permission denied (a bad or expired token, its policies forbid it, or a
//	   wrapped secret_id file already used)
//
// Example:
//
//	vault-policy lint && vault-policy sync --dry-run | jq -c '.changes[] | select(.action != "unchanged")'
//	vault-policy sync --role-id-file ps/role_id --secret-id-file ps/secret_id && vault-policy check --role-id-file ps/role_id --secret-id-file ps/secret_id
//	vault-policy issue dagster-analytics --role-id-out /etc/dagster/role_id --secret-id-out /etc/dagster/secret_id
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/policy"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-policy"

type cli struct {
	Policies string `name:"policies" aliases:"dir" env:"VAULTPIPE_POLICIES,VAULTPIPE_POLICY_DIR" default:"policies" placeholder:"DIR" help:"Directory holding acl/, approles/ and matrix.hcl."`
	Shipped  bool   `name:"shipped" xor:"dir" help:"Use the policy files built into this binary instead of --policies (on a host without a checkout)."`

	Sync  syncCmd  `cmd:"" help:"Make Vault's policies and AppRoles match the files; print the diff as JSON. Example: vault-policy sync --dry-run"`
	Issue issueCmd `cmd:"" help:"Write a fresh secret_id (and the role_id) of an AppRole to 0600 files. Example: vault-policy issue rotator --secret-id-out /etc/vaultpipe/rotate/secret_id"`
	Check checkCmd `cmd:"" help:"Log in as each identity and prove the access matrix; exit 3 on a mismatch. Example: vault-policy check --identity dagster-analytics"`
	Lint  lintCmd  `cmd:"" help:"Report risky patterns in the files as JSON lines; exit 3 on an error finding. Example: vault-policy lint --fail-on warning"`
}

type syncCmd struct {
	DryRun   bool   `name:"dry-run" help:"Print the diff only; change nothing."`
	Prune    bool   `help:"Delete policies and AppRoles that the files do not declare."`
	FailOn   string `name:"fail-on" enum:",change" default:"" env:"VAULTPIPE_FAIL_ON" placeholder:"change" help:"change: exit 3 when the server differed from the files, extraneous objects included (for drift checks with --dry-run)."`
	ExitCode bool   `name:"exit-code" hidden:"" help:"Old name of --fail-on change."`

	Vault vaultclient.Flags `embed:""`
}

type issueCmd struct {
	App          string        `arg:"" help:"AppRole name (approles/APP.hcl)."`
	SecretIDFile string        `name:"secret-id-out" required:"" help:"Where to write the secret_id (or the wrapping token), mode 0600."`
	RoleIDFile   string        `name:"role-id-out" help:"Where to write the role_id, mode 0600."`
	WrapTTL      time.Duration `name:"wrap-ttl" help:"Response-wrap the secret_id: write a single-use wrapping token valid this long instead."`
	CIDR         []string      `name:"cidr" help:"Further restrict where this secret_id may be used from (repeatable)."`

	Vault vaultclient.Flags `embed:""`
}

type checkCmd struct {
	Identity []string `help:"Check only these identities (repeatable)."`
	Format   string   `enum:"auto,json,table" default:"auto" env:"VAULTPIPE_FORMAT" help:"Output: json (one document), table, or auto (a table on a terminal, else json)."`

	Vault vaultclient.Flags `embed:""`
}

type lintCmd struct {
	FailOn string `name:"fail-on" enum:"error,warning" default:"error" env:"VAULTPIPE_FAIL_ON" help:"Exit 3 on findings of this severity or worse: error, or warning (every finding)."`
	Strict bool   `hidden:"" help:"Old name of --fail-on warning."`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

const description = `Keep Vault's ACL policies and AppRoles equal to policies/ and prove the access matrix.

Exit status:
  0  success; check: every row as expected; lint: no error finding
  1  failure (Vault unreachable, a file that does not parse, an unknown AppRole…)
  2  usage error
  3  check: at least one mismatch; lint: an error finding (with --fail-on
     warning, any finding); sync --fail-on change: the server differed from the files
  4  Vault is sealed
  5  Vault is not initialised
  6  permission denied (a bad or expired token, its policies forbid it, or a
     wrapped secret_id file already used)

Example:
  vault-policy lint && vault-policy sync --dry-run
  vault-policy sync && vault-policy check`

// load reads the policy files: --policies, or the shipped copy.
func (c *cli) load() (*policy.Set, error) {
	if c.Shipped {
		return policy.Shipped()
	}
	set, err := policy.LoadDir(c.Policies)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fault.WithHint(err, "run from the repository root, give --policies, or use --shipped for the files built into this binary")
	}
	return set, err
}

func (c *syncCmd) Run(env *command.Env, root *cli) error {
	if c.ExitCode {
		env.Warnf("--exit-code is deprecated and goes in the next release: use --fail-on change")
		c.FailOn = "change"
	}
	set, err := root.load()
	if err != nil {
		return err
	}
	vc, err := env.Vault()
	if err != nil {
		return err
	}
	rep, err := policy.Sync(env.Context(), vc, set, policy.SyncOptions{DryRun: c.DryRun, Prune: c.Prune, Mount: c.Vault.AppRoleMount})
	if err := env.Answer(rep, err); err != nil {
		return err
	}
	if c.FailOn == "change" && rep.Pending() {
		return fault.Quietly(fault.Mismatch)
	}
	return nil
}

type issueOutput struct {
	App              string `json:"app"`
	RoleIDFile       string `json:"role_id_file,omitempty"`
	SecretIDFile     string `json:"secret_id_file"`
	SecretIDAccessor string `json:"secret_id_accessor,omitempty"`
	SecretIDTTL      int    `json:"secret_id_ttl"`
	Wrapped          bool   `json:"wrapped"`
	WrapTTL          int    `json:"wrap_ttl,omitempty"`
	WrapAccessor     string `json:"wrap_accessor,omitempty"`
}

func (c *issueCmd) Run(env *command.Env) error {
	ctx := env.Context()
	for _, f := range []string{c.SecretIDFile, c.RoleIDFile} {
		if f == "-" || f == "/dev/stdout" || f == "/dev/stderr" || strings.HasPrefix(f, "/dev/fd/") || strings.HasPrefix(f, "/proc/self/fd/") {
			return fault.Usagef("refusing to write credentials to %s: give a file path", f)
		}
	}
	if c.WrapTTL < 0 {
		return fault.Usagef("--wrap-ttl must be positive")
	}
	vc, err := env.Vault()
	if err != nil {
		return err
	}
	cr, err := policy.Issue(ctx, vc, c.App, policy.IssueOptions{
		Mount:    c.Vault.AppRoleMount,
		WrapTTL:  c.WrapTTL,
		CIDRs:    c.CIDR,
		Metadata: map[string]string{"issued_by": name},
	})
	if err != nil {
		return err
	}
	if err := cr.WriteFiles(c.RoleIDFile, c.SecretIDFile); err != nil {
		if cr.SecretIDAccessor != "" {
			// Not written anywhere: make sure it can never be used.
			policy.DestroySecretID(context.WithoutCancel(ctx), vc, c.Vault.AppRoleMount, c.App, cr.SecretIDAccessor)
		}
		return err
	}
	return env.Answer(issueOutput{
		App: c.App, RoleIDFile: c.RoleIDFile, SecretIDFile: c.SecretIDFile,
		SecretIDAccessor: cr.SecretIDAccessor, SecretIDTTL: cr.SecretIDTTL,
		Wrapped: cr.WrapToken != "", WrapTTL: cr.WrapTTL, WrapAccessor: cr.WrapAccessor,
	}, nil)
}

func (c *checkCmd) Run(env *command.Env, root *cli) error {
	stdout := env.Stdout
	set, err := root.load()
	if err != nil {
		return err
	}
	if len(set.Matrix) == 0 {
		return fault.New(fault.BadInput, "reading", filepath.Join(set.Dir, "matrix.hcl"), errors.New("no rows: nothing to check"))
	}
	vc, err := env.Vault()
	if err != nil {
		return err
	}
	rep, err := policy.Check(env.Context(), vc, set, policy.CheckOptions{Mount: c.Vault.AppRoleMount, Identities: c.Identity})
	if err != nil {
		return err
	}
	format := c.Format
	if format == "auto" {
		format = "json"
		if env.Terminal() {
			format = "table"
		}
	}
	if format == "table" {
		writeTable(stdout, rep)
	} else if err := jsonout.Write(stdout, rep); err != nil {
		return err
	}
	if rep.Failed == 0 {
		return nil
	}
	names := make([]string, 0, len(rep.Mismatches))
	for _, m := range rep.Mismatches {
		names = append(names, m.Row)
	}
	return fault.WithHint(
		fault.Errorf(fault.Mismatch, "%d of %d rows mismatched: %s", rep.Failed, rep.Rows, strings.Join(names, ", ")),
		"fix the policy (or the row), then run vault-policy sync and check again")
}

func writeTable(w io.Writer, rep *policy.CheckReport) {
	fmt.Fprintf(w, "%d rows, %d passed, %d mismatched\n", rep.Rows, rep.Passed, rep.Failed)
	if len(rep.Mismatches) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nROW\tIDENTITY\tCAPABILITY\tPATH\tEXPECT\tCAPABILITIES-SELF\tOPERATION\tWHERE")
	for _, m := range rep.Mismatches {
		op := m.Operation + ": " + m.OperationResult
		if m.Status != 0 {
			op += fmt.Sprintf(" (%d)", m.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s:%d\n", m.Row, m.Identity, m.Capability, m.Path, m.Expect,
			m.CapabilitiesSelf, op, m.File, m.Line)
	}
	tw.Flush()
}

func (c *lintCmd) Run(env *command.Env, root *cli) error {
	if c.Strict {
		env.Warnf("--strict is deprecated and goes in the next release: use --fail-on warning")
		c.FailOn = "warning"
	}
	set, err := root.load()
	if err != nil {
		return err
	}
	findings := policy.Lint(set)
	out := jsonout.NewLines(env.Stdout)
	errorsFound, warnings := 0, 0
	for _, f := range findings {
		if err := out.Write(f); err != nil {
			return err
		}
		if f.Severity == policy.SeverityError {
			errorsFound++
		} else {
			warnings++
		}
	}
	if errorsFound > 0 || c.FailOn == "warning" && warnings > 0 {
		return fault.Errorf(fault.Findings, "%d errors, %d warnings", errorsFound, warnings)
	}
	return nil
}
