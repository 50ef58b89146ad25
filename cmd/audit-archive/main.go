// The audit-archive command keeps Vault's file audit logs for exactly the
// retention period: it rotates the live log, compresses the closed file
// with zstd, and moves archives past retention to cold storage or deletes
// them. Run it daily from systemd/audit-archive.timer.
//
// Usage:
//
//	audit-archive --log FILE [--log FILE ...] (--pid PID | --pid-file FILE | --reload-cmd CMD)
//	              [--archive-dir DIR] [--retention 90d] [--cold-dir DIR] [--metrics-file FILE] [--no-rotate]
//
// Each live log FILE (audit.log) is renamed to audit-<UTC time>.log beside
// it; then Vault is made to reopen its logs (SIGHUP to --pid or the pid in
// --pid-file, or --reload-cmd, run with sh -c, such as 'systemctl reload
// vault'). Lines Vault writes until it reopens land in the renamed file, the
// next ones in the new live log: none is lost or written twice. Once no
// process holds the renamed file open (checked in /proc), it is compressed
// to ARCHIVE-DIR/audit-<UTC time>.log.zst, the copy is decoded and compared
// with the original byte for byte, and only then is the original removed.
// Archives whose name says they are older than --retention are moved to
// --cold-dir, or deleted when no cold directory is given. A run that fails
// leaves every byte in place; the next run compresses what is left. Empty
// live logs are not rotated.
//
// Output (stdout, one JSON document): {"rotated": [{"log", "to", "bytes"}],
// "compressed": [{"from", "to", "bytes", "compressed_bytes"}], "expired":
// [{"file", "action" (moved, deleted), "to"}], "kept": [{"log",
// "live_bytes", "files", "bytes", "oldest", "last_rotation"}]}. With
// --metrics-file the same numbers go to a Prometheus textfile, written
// atomically: vaultpipe_audit_archive_bytes, _files, _oldest_timestamp_seconds,
// _last_rotation_timestamp_seconds, vaultpipe_audit_live_bytes,
// vaultpipe_audit_archive_expired, vaultpipe_audit_archive_last_success_timestamp_seconds.
//
// Exit status:
//
//	0  done
//	1  failure (Vault did not reopen its log, a copy did not verify, a file could not be moved)
//	2  usage error
//
// Example:
//
//	audit-archive --log /var/log/vault/audit.log --log /var/log/vault/audit-secondary.log \
//	  --reload-cmd 'systemctl reload vault' --archive-dir /var/log/vault/archive \
//	  --cold-dir /srv/cold/vault-audit --metrics-file /var/lib/prometheus/node-exporter/vaultpipe_audit.prom
//	audit-filter --user importer --since 7d /var/log/vault/archive /var/log/vault/audit.log
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/auditlog"
	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/duration"
	"github.com/vaultpipe/vaultpipe/lib/fault"
)

const name = "audit-archive"

const description = `Rotate Vault's file audit logs, compress them to verified .zst archives, and expire archives past retention.

Output: one JSON document {"rotated", "compressed", "expired", "kept"}; --metrics-file FILE also
writes a Prometheus textfile (bytes, files, oldest kept, last rotation), atomically.

Exit status:
  0  done
  1  failure (Vault did not reopen its log, a copy did not verify, a file could not be moved)
  2  usage error

Example:
  audit-archive --log /var/log/vault/audit.log --reload-cmd 'systemctl reload vault' --archive-dir /var/log/vault/archive`

type cli struct {
	Log         []string      `required:"" type:"path" placeholder:"FILE" help:"Live audit log (file_path of a file audit device; repeatable)."`
	ArchiveDir  string        `name:"archive-dir" type:"path" placeholder:"DIR" help:"Directory of the .zst archives (default: beside each log)."`
	Retention   string        `default:"90d" placeholder:"DURATION" help:"Keep archives this long (90d, 2160h)."`
	ColdDir     string        `name:"cold-dir" type:"path" placeholder:"DIR" help:"Move expired archives here (default: delete them)."`
	PID         int           `name:"pid" xor:"reopen" help:"Vault's process id: SIGHUP makes it reopen its audit logs."`
	PIDFile     string        `name:"pid-file" xor:"reopen" type:"path" placeholder:"FILE" help:"File holding Vault's process id (its pid_file setting)."`
	ReloadCmd   string        `name:"reload-cmd" xor:"reopen" placeholder:"CMD" help:"Command (sh -c) that makes Vault reopen its logs, e.g. 'systemctl reload vault'."`
	NoRotate    bool          `name:"no-rotate" help:"Do not rotate: only compress logs rotated before, and expire."`
	Wait        time.Duration `default:"30s" env:"VAULTPIPE_WAIT" placeholder:"DURATION" help:"How long Vault may take to let go of a rotated log."`
	MetricsFile string        `name:"metrics-file" aliases:"metrics" env:"VAULTPIPE_METRICS_FILE" type:"path" placeholder:"FILE" help:"Write Prometheus textfile metrics here."`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

func (c *cli) Run(env *command.Env) error {
	ret, err := duration.Parse(c.Retention)
	if err == nil && ret == 0 {
		err = fmt.Errorf("%q: keep archives longer than zero", c.Retention)
	}
	if err != nil {
		return fault.Usagef("--retention: %v", err)
	}
	cfg := auditlog.ArchiveConfig{Logs: c.Log, ArchiveDir: c.ArchiveDir, Retention: ret, ColdDir: c.ColdDir,
		NoRotate: c.NoRotate, WaitTimeout: c.Wait, PID: c.PID}
	switch {
	case c.PID > 0:
		cfg.Reopen = func(context.Context) error { return syscall.Kill(c.PID, syscall.SIGHUP) }
	case c.PIDFile != "":
		b, err := os.ReadFile(c.PIDFile)
		if err != nil {
			return fault.New(fault.BadInput, "reading", c.PIDFile, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			return fault.Errorf(fault.BadInput, "%s: no process id in it", c.PIDFile)
		}
		cfg.PID = pid
		cfg.Reopen = func(context.Context) error { return syscall.Kill(pid, syscall.SIGHUP) }
	case c.ReloadCmd != "":
		cfg.Reopen = func(ctx context.Context) error {
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.ReloadCmd)
			cmd.Stdout, cmd.Stderr = env.Stderr, env.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", c.ReloadCmd, err)
			}
			return nil
		}
	case !c.NoRotate:
		return fault.Usagef("rotation needs a way to make Vault reopen its log: --pid, --pid-file or --reload-cmd (or --no-rotate)")
	}
	rep, err := auditlog.Archive(env.Context(), cfg)
	if err := env.Answer(rep, err); err != nil {
		return err
	}
	if c.MetricsFile != "" {
		if err := auditlog.WriteMetrics(c.MetricsFile, rep, time.Now()); err != nil {
			return fmt.Errorf("writing metrics: %w", err)
		}
	}
	return nil
}
