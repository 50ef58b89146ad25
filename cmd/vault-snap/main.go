// The vault-snap command saves Vault raft snapshots and proves they
// restore: save, verify offline, drill in a throwaway server, restore, and
// prune by age classes.
//
// Usage:
//
//	vault-snap save    --dir DIR [--age-recipient KEY]... [--age-recipients-file FILE] [--metrics-file FILE] [connection flags]
//	vault-snap verify  FILE|DIR [--manifest FILE] [--age-identity FILE]
//	vault-snap drill   FILE|DIR --share-file FILE... [--canary PATH]... [--expect-kv-count MOUNT=N]... [--vault-binary PATH] [--report FILE] [--metrics-file FILE]
//	vault-snap restore FILE|DIR [--force] [--no-safety-snapshot | --safety-dir DIR] [--share-file FILE]... [connection flags]
//	vault-snap prune   --dir DIR [--keep-last N] [--keep-daily 7] [--keep-weekly 4] [--keep-monthly 12] [--dry-run]
//
// save streams sys/storage/raft/snapshot into DIR as vault-TIMESTAMP.snap,
// exactly as Vault produced it (barrier-encrypted, gzip), checking the
// gzip and tar framing and the archive's SHA256SUMS as it streams. The data
// goes to an unnamed file (O_TMPFILE; NAME.tmp where the file system has
// none) that is fsynced and only then linked under its name; the directory
// is fsynced; the manifest NAME.snap.json (0600) comes last. A stream that
// breaks, a full disk or a killed process leave no finished-looking file and
// never touch an earlier snapshot. With --age-recipient an age-encrypted
// copy NAME.snap.age is written in the same pass, for off-site storage.
// The manifest records the time, Vault version, cluster id, raft index and
// term, size, SHA-256, the archive's SHA256SUMS, and the number of secrets
// per KV mount (listed recursively before and after the snapshot; a mount
// the token may not list is left out, and all counts are when a write
// happened in between; kv_counts_note says which).
//
// verify checks a file without Vault, streaming in constant memory: size
// and SHA-256 against the manifest, gzip and tar decoding, every member
// against the archive's SHA256SUMS. On success it records verified_at in
// the manifest (prune never deletes the newest verified snapshot). A
// directory means its newest snapshot. An .age copy is checked against the
// manifest and, with --age-identity, decrypted and checked fully.
//
// drill verifies the file, starts a throwaway Vault (the same binary:
// --vault-binary, $VAULT_BINARY or vault on PATH) with raft in a temporary
// 0700 directory, listening only on a unix socket there (in network and
// mount namespaces of its own: nothing of it on 127.0.0.1), force-restores
// the snapshot, unseals it with the original cluster's shares (files, one
// share a line, as for vault-install unseal), makes a root token there with
// the same shares, revokes every other token and lease of the copy, reads
// each --canary API path, counts KV secrets per mount against the manifest,
// and tears everything down: nothing keeps running, nothing stays on disk
// but the report. The restored server opens the cluster's file audit
// devices when it unseals; each --audit-dir (default /var/log/vault) it
// sees as an empty directory of its own, so nothing reaches the live logs.
//
// restore verifies the file and refuses it, changing nothing, if that
// fails. A snapshot of another cluster needs --force: afterwards the
// target's data, keyring, unseal keys and tokens are the snapshot's, and it
// comes up sealed (--share-file unseals it with the snapshot's shares). A
// safety snapshot of the target is saved first (into --safety-dir, by
// default the file's directory) unless --no-safety-snapshot.
//
// prune keeps the newest snapshot of each of the last 7 days, 4 ISO weeks
// and 12 months (UTC) that have one, plus --keep-last N newest, plus always
// the newest verified one; it deletes the rest. Only files with a manifest
// vault-snap wrote are ever deleted; others are listed as ignored.
//
// Output (stdout, one JSON document; save's "file" is the snapshot's absolute
// path, the manifest on disk keeps its name):
//
//	save:    the manifest: {"format", "file", "created_at", "vault_version", "cluster_id",
//	         "cluster_name", "seal_shares", "seal_threshold", "raft_peers": [{"node_id", "address",
//	         "leader", "voter"}], "raft_index", "raft_term", "raft_snapshot_id", "size", "sha256",
//	         "sha256sums", "members", "kv_counts", "kv_counts_note", "age", "verified_at"}
//	verify:  {"file", "manifest", "ok", "encrypted", "contents_checked", "size", "sha256",
//	         "raft_index", "raft_term", "members", "error"}
//	drill:   {"file", "ok", "started_at", "duration_seconds", "verified", "snapshot_cluster_id",
//	         "raft_index", "vault_version", "restored", "sealed_after_restore", "unsealed",
//	         "shares_used", "restored_cluster_id", "canaries": [{"path", "ok", "error"}],
//	         "kv_counts", "kv_counts_expected", "kv_counts_match", "torn_down", "error"}
//	restore: {"file", "target", "target_cluster_id", "snapshot_cluster_id", "raft_index",
//	         "forced", "safety_snapshot", "restored", "sealed", "shares_used", "restart_needed"}
//	prune:   {"dir", "dry_run", "policy", "decisions": [{"file", "created_at", "verified",
//	         "keep", "reasons"}], "deleted", "ignored"}
//
// --metrics-file writes node_exporter textfile metrics atomically (one file
// per job: vault-snap.prom for save, vault-snap-drill.prom for drill).
//
// Exit status:
//
//	0  done
//	1  failure: a corrupt, truncated or unverifiable snapshot, a broken stream, a full disk,
//	   Vault unreachable, a canary not readable after the drill's restore
//	2  usage error, or a snapshot of another cluster without --force
//	3  the drill restored the snapshot but its KV secret counts differ from the manifest's
//	   (or --expect-kv-count)
//	4  Vault (or the restored snapshot, with the shares given) is sealed
//	5  Vault is not initialised
//	6  permission denied
//
// Example:
//
//	vault-snap save --dir /var/lib/vault-snap --role-id-file role_id --secret-id-file secret_id |
//	  jq -r .file | xargs vault-snap verify
//	vault-snap drill /var/lib/vault-snap --share-file share1 --share-file share2 --canary secret/data/canary
//	vault-snap prune --dir /var/lib/vault-snap --dry-run | jq -r '.decisions[] | select(.keep|not) | .file'
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/vaultpipe/vaultpipe/lib/command"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/snapshot"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

const name = "vault-snap"

const description = `Save Vault raft snapshots and prove they restore: save, verify, drill, restore, prune.

Exit status:
  0  done
  1  failure: a corrupt, truncated or unverifiable snapshot, a broken stream, a full disk,
     Vault unreachable, a canary not readable after the drill's restore
  2  usage error, or a snapshot of another cluster without --force
  3  the drill restored the snapshot but its KV secret counts differ from the manifest's
     (or --expect-kv-count)
  4  Vault (or the restored snapshot, with the shares given) is sealed
  5  Vault is not initialised
  6  permission denied

Output (one JSON document, snake_case):
  save     the manifest: file, created_at, vault_version, cluster_id, seal_shares, seal_threshold,
           raft_peers, raft_index, raft_term, size, sha256, sha256sums, members, kv_counts, age
  verify   file, ok, encrypted, contents_checked, size, sha256, raft_index, raft_term, members, error
  drill    file, ok, duration_seconds, verified, restored, unsealed, shares_used, canaries,
           kv_counts, kv_counts_expected, kv_counts_match, torn_down, error
  restore  file, target, forced, safety_snapshot, restored, sealed, shares_used, restart_needed
  prune    dir, dry_run, policy, decisions [file, created_at, verified, keep, reasons], deleted, ignored

Example:
  vault-snap save --dir /var/lib/vault-snap && vault-snap verify /var/lib/vault-snap
  vault-snap drill /var/lib/vault-snap --share-file share1 --share-file share2 --canary secret/data/canary`

type saveCmd struct {
	Dir            string   `required:"" env:"VAULTPIPE_SNAP_DIR,VAULT_SNAP_DIR" type:"existingdir" placeholder:"DIR" help:"Directory of the snapshots."`
	AgeRecipient   []string `name:"age-recipient" sep:"none" placeholder:"KEY" help:"Also write an age-encrypted copy (NAME.snap.age) to this age public key (repeatable)."`
	AgeRecipients  string   `name:"age-recipients-file" env:"VAULTPIPE_SNAP_AGE_RECIPIENTS_FILE,VAULT_SNAP_AGE_RECIPIENTS_FILE" type:"existingfile" placeholder:"FILE" help:"File of age public keys, one a line."`
	NoKVCount      bool     `name:"no-kv-count" help:"Do not count KV secrets for the manifest."`
	MetricsFile    string   `name:"metrics-file" env:"VAULTPIPE_METRICS_FILE" type:"path" placeholder:"FILE" help:"Write textfile metrics here (atomically), e.g. /var/lib/prometheus/node-exporter/vault-snap.prom."`
	MetricsDir     string   `name:"metrics-dir" env:"VAULT_SNAP_METRICS_DIR" hidden:"" type:"existingdir" help:"Old form of --metrics-file DIR/vault-snap.prom."`
	Prefix         string   `default:"vault-" help:"File name prefix."`
	VerifyAfter    bool     `name:"verify" help:"Verify the file as verify does once it is written (records verified_at)."`
	recipientNames []string
}

type verifyCmd struct {
	File        string   `arg:"" help:"Snapshot file, or a directory (its newest snapshot)."`
	Manifest    string   `type:"existingfile" placeholder:"FILE" help:"Manifest file (default: FILE.json beside it)."`
	AgeIdentity []string `name:"age-identity" env:"VAULTPIPE_SNAP_AGE_IDENTITY,VAULT_SNAP_AGE_IDENTITY" sep:"none" type:"existingfile" placeholder:"FILE" help:"age identity file, to check the contents of an .age copy (repeatable)."`
	NoMark      bool     `name:"no-mark" help:"Do not record verified_at in the manifest."`
}

type drillCmd struct {
	File        string   `arg:"" help:"Snapshot file, or a directory (its newest snapshot)."`
	Manifest    string   `type:"existingfile" placeholder:"FILE" help:"Manifest file (default: FILE.json beside it)."`
	ShareFile   []string `name:"share-file" env:"VAULTPIPE_SHARE_FILE,VAULT_SNAP_SHARE_FILES" type:"existingfile" placeholder:"FILE" help:"File of unseal key shares of the snapshot's cluster, one a line (repeatable)."`
	Canary      []string `name:"canary" env:"VAULTPIPE_SNAP_CANARIES,VAULT_SNAP_CANARIES" placeholder:"PATH" help:"API path that must be readable after the restore, e.g. secret/data/canary (repeatable)."`
	VaultBinary string   `name:"vault-binary" env:"VAULT_BINARY" type:"existingfile" placeholder:"FILE" help:"Vault server binary (default: vault on PATH)."`
	AgeIdentity []string `name:"age-identity" env:"VAULTPIPE_SNAP_AGE_IDENTITY,VAULT_SNAP_AGE_IDENTITY" sep:"none" type:"existingfile" placeholder:"FILE" help:"age identity file, for an .age copy (repeatable)."`
	Report      string   `name:"report" env:"VAULTPIPE_SNAP_DRILL_REPORT,VAULT_SNAP_DRILL_REPORT" placeholder:"FILE" help:"Also write the JSON report to FILE (atomically)."`
	MetricsFile string   `name:"metrics-file" env:"VAULTPIPE_METRICS_FILE" type:"path" placeholder:"FILE" help:"Write textfile metrics here (atomically), e.g. /var/lib/prometheus/node-exporter/vault-snap-drill.prom."`
	MetricsDir  string   `name:"metrics-dir" env:"VAULT_SNAP_METRICS_DIR" hidden:"" type:"existingdir" help:"Old form of --metrics-file DIR/vault-snap-drill.prom."`
	ExpectKV    []string `name:"expect-kv-count" sep:"none" placeholder:"MOUNT=N" help:"Also require N secrets in KV mount MOUNT (e.g. secret/=120) after the restore (repeatable)."`
	AuditDir    []string `name:"audit-dir" env:"VAULTPIPE_SNAP_AUDIT_DIRS" placeholder:"DIR" help:"Live audit directory the throwaway server sees as its own empty one (repeatable; default /var/log/vault)."`
	TempDir     string   `name:"temp-dir" env:"VAULTPIPE_SNAP_TEMP_DIR,VAULT_SNAP_TEMP_DIR" type:"existingdir" placeholder:"DIR" help:"Parent directory of the throwaway server's files (default: $TMPDIR)."`
}

type restoreCmd struct {
	File        string   `arg:"" help:"Snapshot file (or .age copy, with --age-identity), or a directory (its newest snapshot)."`
	Manifest    string   `type:"existingfile" placeholder:"FILE" help:"Manifest file (default: FILE.json beside it)."`
	Force       bool     `help:"Restore a snapshot of another cluster: the target's data, keyring, unseal keys and tokens become the snapshot's."`
	NoSafety    bool     `name:"no-safety-snapshot" help:"Do not save a snapshot of the target first."`
	SafetyDir   string   `name:"safety-dir" type:"existingdir" placeholder:"DIR" help:"Where the safety snapshot goes (default: the file's directory)."`
	ShareFile   []string `name:"share-file" env:"VAULTPIPE_SHARE_FILE" type:"existingfile" placeholder:"FILE" help:"After a forced restore, unseal with these shares of the snapshot's cluster (repeatable)."`
	AgeIdentity []string `name:"age-identity" env:"VAULTPIPE_SNAP_AGE_IDENTITY,VAULT_SNAP_AGE_IDENTITY" sep:"none" type:"existingfile" placeholder:"FILE" help:"age identity file, for an .age copy (repeatable)."`
}

type pruneCmd struct {
	Dir         string `required:"" env:"VAULTPIPE_SNAP_DIR,VAULT_SNAP_DIR" type:"existingdir" placeholder:"DIR" help:"Directory of the snapshots."`
	KeepLast    int    `name:"keep-last" env:"VAULTPIPE_SNAP_KEEP_LAST,VAULT_SNAP_KEEP_LAST" default:"0" help:"Keep the N newest."`
	KeepDaily   int    `name:"keep-daily" env:"VAULTPIPE_SNAP_KEEP_DAILY,VAULT_SNAP_KEEP_DAILY" default:"7" help:"Keep the newest of each of the last N days that have one."`
	KeepWeekly  int    `name:"keep-weekly" env:"VAULTPIPE_SNAP_KEEP_WEEKLY,VAULT_SNAP_KEEP_WEEKLY" default:"4" help:"Keep the newest of each of the last N ISO weeks that have one."`
	KeepMonthly int    `name:"keep-monthly" env:"VAULTPIPE_SNAP_KEEP_MONTHLY,VAULT_SNAP_KEEP_MONTHLY" default:"12" help:"Keep the newest of each of the last N months that have one."`
	DryRun      bool   `name:"dry-run" help:"Only print what would be deleted."`
}

type cli struct {
	Save    saveCmd    `cmd:"" help:"Stream a raft snapshot into a directory, with a manifest."`
	Verify  verifyCmd  `cmd:"" help:"Check a snapshot file offline against its manifest and its own checksums."`
	Drill   drillCmd   `cmd:"" help:"Restore a snapshot into a throwaway Vault, unseal it, check canaries and counts, tear down."`
	Restore restoreCmd `cmd:"" help:"Restore a verified snapshot into a Vault server."`
	Prune   pruneCmd   `cmd:"" help:"Delete snapshots by count and age classes."`

	Vault vaultclient.Flags `embed:""`
}

func main() { command.Main(command.Program{Name: name, Description: description, Grammar: &cli{}}) }

// metricsFile is --metrics-file, or the file the old --metrics-dir named.
func metricsFile(env *command.Env, file, dir, name string) string {
	if dir == "" {
		return file
	}
	env.Warnf("--metrics-dir (VAULT_SNAP_METRICS_DIR) is deprecated and goes in the next release: use --metrics-file %s", filepath.Join(dir, name))
	if file != "" {
		return file
	}
	return filepath.Join(dir, name)
}

func (s *saveCmd) Run(env *command.Env) error {
	recips, err := s.recipients()
	if err != nil {
		return err
	}
	metrics := metricsFile(env, s.MetricsFile, s.MetricsDir, snapshot.SaveMetricsFile)
	m, err := s.save(env, recips)
	if metrics != "" {
		if merr := snapshot.WriteSaveMetrics(metrics, s.Dir, err == nil, time.Now()); merr != nil && err == nil {
			err = fmt.Errorf("writing metrics: %w", merr)
		}
	}
	if err != nil {
		return err
	}
	// The manifest on disk names its file relative to it; stdout names it
	// absolutely, for the next command of a pipeline.
	out := *m
	if abs, err := filepath.Abs(filepath.Join(s.Dir, m.File)); err == nil {
		out.File = abs
	}
	return env.Answer(&out, nil)
}

func (s *saveCmd) save(env *command.Env, recips []age.Recipient) (*snapshot.Manifest, error) {
	vc, err := env.Vault()
	if err != nil {
		return nil, err
	}
	return snapshot.Save(env.Context(), vc, snapshot.SaveOptions{
		Dir: s.Dir, Prefix: s.Prefix, Recipients: recips, RecipientNames: s.recipientNames, NoKVCount: s.NoKVCount,
		Verify: s.VerifyAfter,
	})
}

func (s *saveCmd) recipients() ([]age.Recipient, error) {
	var out []age.Recipient
	for _, r := range s.AgeRecipient {
		rc, err := age.ParseX25519Recipient(strings.TrimSpace(r))
		if err != nil {
			return nil, fault.Usagef("--age-recipient %q: %v", r, err)
		}
		out = append(out, rc)
		s.recipientNames = append(s.recipientNames, rc.String())
	}
	if s.AgeRecipients != "" {
		f, err := os.Open(s.AgeRecipients)
		if err != nil {
			return nil, fault.New(fault.BadInput, "reading", s.AgeRecipients, errors.Unwrap(err))
		}
		defer f.Close()
		rs, err := age.ParseRecipients(f)
		if err != nil {
			return nil, fault.New(fault.BadInput, "", s.AgeRecipients, err)
		}
		for _, r := range rs {
			out = append(out, r)
			if x, ok := r.(*age.X25519Recipient); ok {
				s.recipientNames = append(s.recipientNames, x.String())
			}
		}
	}
	return out, nil
}

func identities(files []string) ([]age.Identity, error) {
	var out []age.Identity
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, fault.New(fault.BadInput, "reading age identity", p, errors.Unwrap(err))
		}
		ids, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			return nil, fault.New(fault.BadInput, "reading age identity", p, err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

// readShares reads the share files (lib/unseal: one share a line; errors
// name the file and line, never the text); none given, none read.
func readShares(files []string) ([]string, error) {
	if len(files) == 0 {
		return nil, nil
	}
	return unseal.ReadFiles(files)
}

func (v *verifyCmd) Run(env *command.Env) error {
	path, err := snapshot.Resolve(v.File)
	if err != nil {
		return err
	}
	ids, err := identities(v.AgeIdentity)
	if err != nil {
		return err
	}
	rep, _, verr := snapshot.Verify(path, snapshot.VerifyOptions{Manifest: v.Manifest, Identities: ids})
	if err := env.Answer(rep, verr); err != nil {
		return err
	}
	if !v.NoMark && rep.ContentsChecked {
		if err := snapshot.MarkVerified(rep.Manifest, time.Now()); err != nil {
			return fmt.Errorf("recording the verification: %w", err)
		}
	}
	return nil
}

func (d *drillCmd) Run(env *command.Env) error {
	path, err := snapshot.Resolve(d.File)
	if err != nil {
		return err
	}
	ids, err := identities(d.AgeIdentity)
	if err != nil {
		return err
	}
	shares, err := readShares(d.ShareFile)
	if err != nil {
		return err
	}
	expect := map[string]int{}
	for _, e := range d.ExpectKV {
		mount, n, ok := strings.Cut(e, "=")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || v < 0 || mount == "" {
			return fault.Usagef("--expect-kv-count %q: want MOUNT=N, e.g. secret/=120", e)
		}
		expect[strings.TrimSuffix(mount, "/")+"/"] = v
	}
	bin, err := snapshot.FindBinary(d.VaultBinary)
	if err != nil {
		return err
	}
	metrics := metricsFile(env, d.MetricsFile, d.MetricsDir, snapshot.DrillMetricsFile)
	rep, derr := snapshot.Drill(env.Context(), path, snapshot.DrillOptions{
		Binary: bin, Shares: shares, Canaries: d.Canary, ExpectKV: expect, Identities: ids, Manifest: d.Manifest, TempDir: d.TempDir, AuditDirs: d.AuditDir,
	})
	if d.Report != "" {
		werr := safefile.WriteFunc(d.Report, 0o600, func(w io.Writer) error { return jsonout.Write(w, rep) })
		if werr != nil && derr == nil {
			derr = fmt.Errorf("writing the report: %w", werr)
		}
	}
	if metrics != "" {
		if merr := snapshot.WriteDrillMetrics(metrics, rep, time.Now()); merr != nil && derr == nil {
			derr = fmt.Errorf("writing metrics: %w", merr)
		}
	}
	return env.Answer(rep, derr)
}

func (r *restoreCmd) Run(env *command.Env) error {
	if r.NoSafety && r.SafetyDir != "" {
		return fault.Usagef("--no-safety-snapshot and --safety-dir contradict each other")
	}
	file, err := snapshot.Resolve(r.File)
	if err != nil {
		return err
	}
	ids, err := identities(r.AgeIdentity)
	if err != nil {
		return err
	}
	shares, err := readShares(r.ShareFile)
	if err != nil {
		return err
	}
	vc, err := env.Vault()
	if err != nil {
		return err
	}
	// After a forced restore the token belongs to a keyring that is gone:
	// nothing to revoke.
	env.KeepToken()
	safety := r.SafetyDir
	if safety == "" && !r.NoSafety {
		safety = filepath.Dir(file)
	}
	rep, rerr := snapshot.Restore(env.Context(), vc, file, snapshot.RestoreOptions{
		Force: r.Force, SafetyDir: safety, Identities: ids, Manifest: r.Manifest, Shares: shares,
	})
	if rep.Restored && rep.Forced {
		env.Warnf("restored a snapshot of cluster %s into %s: from now on the snapshot's unseal keys and tokens apply there, not the ones this server had", rep.SnapshotCluster, rep.Target)
		switch {
		case rep.RestartNeeded:
			env.Warnf("the server is sealed and its key split differs from the snapshot's cluster's: restart vault (systemctl restart vault), then unseal it with the snapshot's shares (vault-install unseal)")
		case rep.Sealed:
			env.Warnf("the server is sealed: unseal it with the shares of the snapshot's cluster (vault-install unseal)")
		}
	}
	return env.Answer(rep, rerr)
}

func (p *pruneCmd) Run(env *command.Env) error {
	pol := snapshot.Policy{Last: p.KeepLast, Daily: p.KeepDaily, Weekly: p.KeepWeekly, Monthly: p.KeepMonthly}
	if pol.Last < 0 || pol.Daily < 0 || pol.Weekly < 0 || pol.Monthly < 0 {
		return fault.Usagef("keep counts must not be negative")
	}
	if pol == (snapshot.Policy{}) {
		return fault.Usagef("every keep count is 0: that would delete everything but the newest verified snapshot")
	}
	rep, err := snapshot.Prune(p.Dir, pol, p.DryRun)
	return env.Answer(rep, err)
}
