// The vault-rotate command rotates Vault KV v2 secrets on the schedule of a
// rotation policy (policies/rotation.hcl), in two phases, so that no reader
// ever sees a value that has not passed its test; and drives the database
// secrets engine's static roles for PostgreSQL credentials.
//
// Usage:
//
//	vault-rotate lint    [--file FILE] [--policies DIR] [--offline] [connection flags]
//	vault-rotate due     [--file FILE] [connection flags]
//	vault-rotate run     [--file FILE] [--path PATH] [--dry-run] [--metrics-file FILE] [connection flags]
//	vault-rotate history [--file FILE] PATH [connection flags]
//	vault-rotate status  [--file FILE] [--all] [connection flags]
//
// lint checks the policy file (every error as file:line:col) and that the
// rotator's ACL policy (DIR/acl/rotator.hcl) lets it write every path a rule
// names; then, unless --offline, it lists every KV secret that no rule
// covers and no exempt block names, and covered secrets whose max_versions
// is below the rule's keep_versions (JSON lines {"kind", "path",
// "message"}; exit 3 when there are any).
//
// due prints, per covered secret, {"path", "key", "class", "period",
// "last_rotated", "due_at", "overdue", "seconds_until_due", "in_window"}.
//
// run rotates every overdue secret inside its window, resumes rotations an
// earlier run left unfinished, and configures the database static roles;
// --path rotates one secret now, due or not; --dry-run says what it would do.
// It prints a JSON line per secret: {"path", "key", "action" (rotated,
// resumed, not_due, outside_window, would_rotate, would_resume, busy, failed,
// rolled_back), "stage", "version", "previous_version", "rotation_id",
// "error"}, and per database {"database", "role", "action", "username",
// "error"}. With --metrics-file it writes node_exporter textfile metrics
// atomically (vaultpipe_rotate_seconds_until_due, vaultpipe_rotate_failed,
// vaultpipe_rotate_last_run_failures, vaultpipe_rotate_last_success_timestamp_seconds).
//
// history prints every version of PATH Vault keeps: {"version",
// "created_time", "rotated_by", "rotation_id", "key", "stage" (current,
// previous, old), "deleted", "deletion_time", "destroyed"}.
//
// status prints the rotations that have not finished (with --all, finished
// ones too): {"path", "key", "stage", "rotation_id", "base_version",
// "started_at", "updated_at", "owner", "owner_alive", "lease_until",
// "reason", "interrupted"}; exit 3 when one is interrupted or failed.
//
// No value is ever printed, logged or passed to a hook in argv or its
// environment: hooks read a JSON request on stdin (see lib/rotation).
// VAULTPIPE_ROTATE_TEST_KILL_AT=<point> (created, set-hook, set, test-hook,
// tested, promoted) is a test-only fault injector: run SIGKILLs itself there.
//
// Exit status:
//
//	0  done
//	1  failure: a rotation failed (its secret keeps its current value), bad policy file, Vault unreachable
//	2  usage error
//	3  attention: lint findings; a rotation held by another run; an interrupted or failed rotation (status)
//	4  Vault is sealed
//	5  Vault is not initialised
//	6  permission denied
//
// Example:
//
//	vault-rotate lint && vault-rotate due | jq -c 'select(.overdue) | {path, due_at}'
//	vault-rotate run --metrics-file /var/lib/prometheus/node-exporter/rotate.prom
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/rotation"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-rotate"

const description = `Rotate Vault KV v2 secrets and database static roles on the schedule of policies/rotation.hcl, in two phases (create, set, test, finish): no reader ever sees an untested value.

Exit status:
  0  done
  1  failure: a rotation failed (its secret keeps its current value), bad policy file, Vault unreachable
  2  usage error
  3  attention: lint findings; a rotation held by another run; an interrupted or failed rotation (status)
  4  Vault is sealed
  5  Vault is not initialised
  6  permission denied

Example:
  vault-rotate lint && vault-rotate due | jq -c 'select(.overdue) | {path, due_at}'
  vault-rotate run --metrics-file /var/lib/prometheus/node-exporter/rotate.prom`

type common struct {
	File string `name:"file" short:"f" env:"VAULTPIPE_ROTATION_FILE,VAULT_ROTATE_POLICY" default:"policies/rotation.hcl" placeholder:"FILE" help:"Rotation policy file."`
}

type lintCmd struct {
	common
	Policies string `name:"policies" env:"VAULTPIPE_POLICIES,VAULT_ROTATE_POLICIES" default:"policies" placeholder:"DIR" help:"Directory of ACL policies (acl/<name>.hcl) to check the rotator's grants against."`
	Rotator  string `name:"rotator-policy" default:"rotator" help:"Name of the rotator's ACL policy."`
	Offline  bool   `help:"Check the files only; do not list Vault's secrets."`
}

type dueCmd struct{ common }

type runCmd struct {
	common
	Path        string `placeholder:"PATH" help:"Rotate this secret (path under the mount) now, due or not."`
	DryRun      bool   `name:"dry-run" help:"Say what would be done; write nothing."`
	MetricsFile string `name:"metrics-file" env:"VAULTPIPE_METRICS_FILE" type:"path" placeholder:"FILE" help:"Write node_exporter textfile metrics here (atomically)."`
	Workers     int    `name:"workers" aliases:"concurrency" env:"VAULTPIPE_WORKERS" default:"32" help:"Secrets rotated in parallel."`
}

type historyCmd struct {
	common
	Path string `arg:"" name:"path" help:"Secret path under the mount."`
}

type statusCmd struct {
	common
	All bool `help:"List finished rotations too."`
}

type cli struct {
	Lint    lintCmd    `cmd:"" help:"Check the policy file, the rotator's grants, and that every secret is covered."`
	Due     dueCmd     `cmd:"" help:"Print when each covered secret is due (JSON lines)."`
	Run     runCmd     `cmd:"" help:"Rotate what is due (or --path now); resume interrupted rotations."`
	History historyCmd `cmd:"" help:"Print every version of a secret with its date and who wrote it."`
	Status  statusCmd  `cmd:"" help:"Print unfinished rotations."`

	Vault vaultclient.Flags `embed:""`
}

// killEnv names the test-only fault injector: the run kills itself at that
// point (one of rotation.KillPoints).
const killEnv = "VAULTPIPE_ROTATE_TEST_KILL_AT"

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

// engine loads the rotation policy and connects to Vault.
func (c *common) engine(env *command.Env, workers int) (*rotation.Engine, error) {
	pol, err := rotation.Load(c.File)
	if err != nil {
		return nil, err
	}
	return c.connect(env, pol, workers)
}

func (c *common) connect(env *command.Env, pol *rotation.Policy, workers int) (*rotation.Engine, error) {
	vc, err := env.Vault()
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = 32 // listing secrets in parallel, as run does
	}
	return &rotation.Engine{Client: vc, Policy: pol, Concurrency: workers, RotatedBy: rotatedBy(env.Context(), vc)}, nil
}

// writeLines writes each item as a JSON line.
func writeLines[T any](env *command.Env, items []T) error {
	out := jsonout.NewLines(env.Stdout)
	for _, it := range items {
		if err := out.Write(it); err != nil {
			return err
		}
	}
	return nil
}

func (c *lintCmd) Run(env *command.Env) error {
	pol, err := rotation.Load(c.File)
	if err != nil {
		return err
	}
	if err := pol.CheckRotatorPolicy(c.Policies, c.Rotator); err != nil {
		return err
	}
	if c.Offline {
		return nil
	}
	eng, err := c.connect(env, pol, 0)
	if err != nil {
		return err
	}
	findings, err := eng.Coverage(env.Context())
	if err != nil {
		return err
	}
	if err := writeLines(env, findings); err != nil {
		return err
	}
	if len(findings) > 0 {
		return fault.WithHint(fault.Errorf(fault.Findings, "%d finding(s): see stdout", len(findings)), "add secret or exempt blocks to "+c.File)
	}
	return nil
}

func (c *dueCmd) Run(env *command.Env) error {
	eng, err := c.engine(env, 0)
	if err != nil {
		return err
	}
	targets, err := eng.Targets(env.Context(), "")
	if err != nil {
		return err
	}
	due := make([]any, 0, len(targets))
	for _, t := range targets {
		due = append(due, eng.Due(t))
	}
	return writeLines(env, due)
}

func (c *historyCmd) Run(env *command.Env) error {
	eng, err := c.engine(env, 0)
	if err != nil {
		return err
	}
	hist, err := eng.History(env.Context(), c.Path)
	if err != nil {
		return err
	}
	return writeLines(env, hist)
}

func (c *statusCmd) Run(env *command.Env) error {
	eng, err := c.engine(env, 0)
	if err != nil {
		return err
	}
	list, err := eng.Status(env.Context(), c.All)
	if err != nil {
		return err
	}
	if err := writeLines(env, list); err != nil {
		return err
	}
	bad := 0
	for _, s := range list {
		if s.Interrupted || s.Stage == rotation.StageFailed {
			bad++
		}
	}
	if bad > 0 {
		return fault.WithHint(fault.Errorf(fault.Findings, "%d rotation(s) interrupted or failed", bad), "the next vault-rotate run resumes interrupted ones and retries failed ones")
	}
	return nil
}

func (c *runCmd) Run(env *command.Env) error {
	eng, err := c.engine(env, c.Workers)
	if err != nil {
		return err
	}
	if eng.KillAt, err = killAt(); err != nil {
		return err
	}
	out := jsonout.NewLines(env.Stdout)
	return eng.Cycle(env.Context(), rotation.CycleOptions{Path: c.Path, DryRun: c.DryRun, MetricsFile: c.MetricsFile}, out.Write)
}

// killAt reads the test-only fault injector from the environment.
func killAt() (string, error) {
	kill := os.Getenv(killEnv)
	if kill != "" && !slices.Contains(rotation.KillPoints, kill) {
		return "", fault.Usagef("%s=%s: want one of %s", killEnv, kill, strings.Join(rotation.KillPoints, ", "))
	}
	return kill, nil
}

// rotatedBy names the identity of this run in history.
func rotatedBy(ctx context.Context, vc *vaultclient.Client) string {
	s, err := vc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil || s == nil {
		return name
	}
	if dn, ok := s.Data["display_name"].(string); ok && dn != "" {
		return fmt.Sprintf("%s/%s", name, dn)
	}
	return name
}
