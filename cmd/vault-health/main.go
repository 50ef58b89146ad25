// The vault-health command prints the health of a Vault server as one JSON
// document and exits with a code that names its state, for monitoring,
// systemd ExecStartPost= lines and shell loops.
//
// Usage:
//
//	vault-health [--wait DURATION] [--standby-ok] [--timeout DURATION] [connection flags]
//
// It reads sys/health and sys/seal-status without a token. With --wait it
// polls until the server is active (or a standby, with --standby-ok) or the
// duration has passed, and reports the last state seen.
//
// Output (stdout): {"address", "status", "initialized", "sealed", "standby",
// "performance_standby", "version", "cluster_name", "cluster_id",
// "server_time_utc", "seal": {"type", "threshold", "shares", "progress",
// "storage_type"}, "checked_at", "error"}. status is one of active, standby,
// perf_standby, sealed, uninitialized, unreachable.
//
// Exit status:
//
//	0  active (or a standby with --standby-ok)
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
	"context"
	"errors"
	"io"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/health"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-health"

const description = `Print the health of a Vault server as JSON; the exit code names its state.

Exit status:
  0  active (or a standby with --standby-ok)
  1  unreachable, or another failure
  2  usage error
  3  standby or performance standby
  4  sealed
  5  not initialised

Example:
  until vault-health --wait 30s >/dev/null; do sleep 1; done`

type cli struct {
	Wait      time.Duration `help:"Poll until the server is ready or this much time has passed." placeholder:"DURATION"`
	StandbyOK bool          `name:"standby-ok" help:"Count a standby node as healthy (exit 0)."`
	Timeout   time.Duration `default:"5s" help:"Time allowed for each check."`

	Vault vaultclient.Conn `embed:""`
}

func main() { command.Main(name, run) }

func run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	var c cli
	if _, err := command.Parse(name, description, &c, args, stdout); err != nil {
		return err
	}
	vc, err := vaultclient.New(ctx, vaultclient.Flags{Conn: c.Vault}, vaultclient.Options{NoAuth: true})
	if err != nil {
		return err
	}
	if c.Vault.MaxRetries > 0 && c.Wait > 0 {
		vc.SetMaxRetries(0) // the wait loop is the retry
	}
	deadline := time.Now().Add(c.Wait)
	var (
		rep    *health.Report
		chkErr error
	)
	for {
		cctx, cancel := context.WithTimeout(ctx, c.Timeout)
		rep, chkErr = health.Check(cctx, vc)
		cancel()
		if chkErr == nil && health.Ready(rep.Status, c.StandbyOK) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err := command.WriteJSON(stdout, rep); err != nil {
		return err
	}
	if chkErr != nil {
		return chkErr
	}
	switch rep.Status {
	case health.Sealed:
		return fault.New(fault.Sealed, "", "", errors.New("vault is sealed"))
	case health.Uninitialized:
		return fault.New(fault.Uninitialized, "", "", errors.New("vault is not initialized"))
	case health.Standby, health.PerfStandby:
		if !c.StandbyOK {
			return fault.New(fault.Standby, "", "", errors.New("vault is a standby node"))
		}
	}
	return nil
}
