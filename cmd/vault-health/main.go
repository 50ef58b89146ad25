// The vault-health command prints the health of a Vault server as one JSON
// document and exits with a code that names its state, for monitoring,
// systemd ExecStartPost= lines and shell loops.
//
// Usage:
//
//	vault-health [--wait DURATION] [--standby-ok] [--sealed-ok] [--timeout DURATION]
//	             [--metrics-file FILE] [--config FILE] [connection flags]
//
// It reads sys/health and sys/seal-status without a token. With --wait it
// polls until the server is active (or a standby, with --standby-ok; or
// sealed, with --sealed-ok: the listener answers, as ExecStartPost= of
// vault.service needs before anyone unseals it) or the duration has passed,
// and reports the last state seen.
//
// With --metrics-file it also writes the state for node_exporter's textfile
// collector (vaultpipe_health_up, _sealed, _sealed_since_timestamp_seconds,
// _seal_info{type}, …; atomically, 0644). The file is also its memory: a
// server that was sealed at the previous check keeps its "sealed_since", so
// an alert can say how long a seal has been stuck (docs/prometheus).
//
// A server that is down or sealed gets a hint naming its transit seal when
// --config (default /etc/vault.d/vault.hcl, where this user may read it)
// declares one: with the transit seal, Vault does not start while its
// transit Vault is unreachable.
//
// Output (stdout): {"address", "status", "initialized", "sealed", "standby",
// "performance_standby", "version", "cluster_name", "cluster_id",
// "server_time_utc", "seal": {"type", "threshold", "shares", "progress",
// "storage_type"}, "sealed_since" (with --metrics-file), "checked_at", "error"}. status is one of active, standby,
// perf_standby, sealed, uninitialized, unreachable.
//
// Exit status:
//
//	0  active (or a standby with --standby-ok, or sealed with --sealed-ok)
//	1  unreachable, or another failure
//	2  usage error
//	3  standby or performance standby
//	4  sealed
//	5  not initialised
//
// Example:
//
//	until vault-health --wait 30s >/dev/null; do sleep 1; done
//	vault-health | jq -r .status
package main

import (
	"fmt"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/health"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-health"

const description = `Print the health of a Vault server as JSON; the exit code names its state.

Exit status:
  0  active (or a standby with --standby-ok, or sealed with --sealed-ok)
  1  unreachable, or another failure
  2  usage error
  3  standby or performance standby
  4  sealed
  5  not initialised

Example:
  until vault-health --wait 30s >/dev/null; do sleep 1; done`

type cli struct {
	Wait        time.Duration `env:"VAULTPIPE_WAIT" help:"Poll until the server is ready or this much time has passed." placeholder:"DURATION"`
	StandbyOK   bool          `name:"standby-ok" help:"Count a standby node as healthy (exit 0)."`
	SealedOK    bool          `name:"sealed-ok" help:"Count a sealed server as up (exit 0): the listener answers."`
	MetricsFile string        `name:"metrics-file" aliases:"textfile" env:"VAULTPIPE_METRICS_FILE" type:"path" help:"Also write the state as node_exporter textfile metrics to FILE." placeholder:"FILE"`
	Config      string        `type:"path" default:"/etc/vault.d/vault.hcl" help:"The server's config, read (where allowed) to name its transit seal when it is down or sealed." placeholder:"FILE"`
	Timeout     time.Duration `default:"5s" env:"VAULTPIPE_TIMEOUT" help:"Time allowed for each check." placeholder:"DURATION"`

	Vault vaultclient.Conn `embed:""`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

func (c *cli) Run(env *command.Env) error {
	ctx := env.Context()
	vc, err := env.Vault(vaultclient.Options{NoAuth: true})
	if err != nil {
		return err
	}
	if c.Vault.MaxRetries > 0 && c.Wait > 0 {
		vc.SetMaxRetries(0) // the wait loop is the retry
	}
	rep, err := health.Wait(ctx, vc, health.WaitOptions{
		For: c.Wait, Timeout: c.Timeout,
		Until: func(r *health.Report) bool {
			return health.Ready(r.Status, c.StandbyOK) || c.SealedOK && r.Status == health.Sealed
		},
	})
	if c.MetricsFile != "" {
		now := time.Now()
		since := health.SealedSince(rep, c.MetricsFile, now)
		if !since.IsZero() {
			rep.SealedSince = since.Format(time.RFC3339)
		}
		if werr := health.Metrics(rep, since, now).WriteFile(c.MetricsFile); werr != nil {
			return fmt.Errorf("writing metrics: %w", werr)
		}
	}
	if werr := jsonout.Write(env.Stdout, rep); werr != nil {
		return werr
	}
	if c.SealedOK && rep.Status == health.Sealed && err == nil {
		return nil
	}
	if err == nil {
		err = rep.Err(c.StandbyOK)
	}
	if hint := health.TransitHint(rep, c.Config); hint != "" && err != nil {
		err = fault.WithHint(err, hint)
	}
	return err
}
