package snapshot

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/localvault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// DrillOptions configure Drill.
type DrillOptions struct {
	Binary     string         // the vault server binary
	Shares     []string       // unseal key shares of the cluster the snapshot came from
	Canaries   []string       // API paths that must be readable after the restore (secret/data/canary)
	Identities []age.Identity // for an age copy
	Manifest   string         // manifest path; beside the file when empty
	TempDir    string         // parent of the drill's directory; os.TempDir() when empty
	// ExpectKV are counts the restored secrets must have too, per mount
	// ("secret/": 120), on top of the manifest's.
	ExpectKV map[string]int
	// AuditDirs are the live cluster's audit directories
	// (DefaultAuditDirs when nil): the restored server opens the snapshot's
	// audit devices, and sees each of these as an empty directory of its own.
	AuditDirs []string
}

// DefaultAuditDirs is where vault-install puts the audit devices.
var DefaultAuditDirs = []string{"/var/log/vault"}

// DrillReport is the drill's JSON report.
type DrillReport struct {
	File            string    `json:"file"`
	OK              bool      `json:"ok"`
	StartedAt       time.Time `json:"started_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	Verified        bool      `json:"verified"`
	SnapshotCluster string    `json:"snapshot_cluster_id"`
	RaftIndex       uint64    `json:"raft_index"`
	VaultVersion    string    `json:"vault_version,omitempty"`
	Restored        bool      `json:"restored"`
	SealedAfter     bool      `json:"sealed_after_restore"`
	Unsealed        bool      `json:"unsealed"`
	SharesUsed      int       `json:"shares_used"`
	RestoredCluster string    `json:"restored_cluster_id,omitempty"`
	// TokensRevoked counts the restored copy's tokens revoked before any
	// check (all but the drill's own root token); LeasesRevoked says every
	// lease went with them.
	TokensRevoked    int            `json:"tokens_revoked"`
	LeasesRevoked    bool           `json:"leases_revoked"`
	Canaries         []CanaryResult `json:"canaries"`
	KVCounts         map[string]int `json:"kv_counts,omitempty"`
	KVCountsExpected map[string]int `json:"kv_counts_expected,omitempty"`
	KVCountsMatch    *bool          `json:"kv_counts_match,omitempty"`
	TornDown         bool           `json:"torn_down"`
	// Phases are the seconds each step took: verify, start, init, restore,
	// seal (Vault's own wait after a restore), unseal, check, teardown.
	Phases map[string]float64 `json:"phases_seconds"`
	Error  string             `json:"error,omitempty"`
}

// CanaryResult says whether one canary path was readable.
type CanaryResult struct {
	Path  string `json:"path"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// FindBinary returns the vault binary to drill with: flag, else
// $VAULT_BINARY, else `vault` on $PATH.
func FindBinary(flag string) (string, error) {
	for _, p := range []string{flag, os.Getenv("VAULT_BINARY")} {
		if p != "" {
			return p, nil
		}
	}
	p, err := exec.LookPath("vault")
	if err != nil {
		return "", fault.WithHint(fault.Usagef("no vault binary: not on PATH"), "pass --vault-binary or set VAULT_BINARY")
	}
	return p, nil
}

// Drill proves a snapshot restores: it verifies the file offline, starts a
// throwaway Vault (lib/localvault: raft, a temporary 0700 directory, the
// API on a unix socket there, in namespaces of its own so that nothing of
// it listens where another user reaches, the audit directories covered),
// initialises it, force-restores the snapshot, unseals it with the original
// cluster's shares, makes a root token there with those shares
// (generate-root; the live cluster is never touched), revokes every other
// token and lease of the copy, reads the canaries, counts the KV secrets
// against the manifest, and tears everything down. The report is returned
// even on failure.
func Drill(ctx context.Context, path string, o DrillOptions) (rep *DrillReport, err error) {
	start := time.Now()
	rep = &DrillReport{File: path, StartedAt: start.UTC().Truncate(time.Second), Canaries: []CanaryResult{}, Phases: map[string]float64{}}
	mark := time.Now()
	phase := func(name string) {
		now := time.Now()
		rep.Phases[name] = now.Sub(mark).Round(time.Millisecond).Seconds()
		mark = now
	}
	defer func() {
		rep.DurationSeconds = time.Since(start).Round(time.Millisecond).Seconds()
		rep.OK = err == nil
		if err != nil {
			rep.Error = err.Error()
		}
	}()
	if len(o.Shares) == 0 {
		return rep, fault.Usagef("no unseal shares: the drill unseals the restored snapshot with the original cluster's shares (--share-file)")
	}
	_, m, err := Verify(path, VerifyOptions{Manifest: o.Manifest, Identities: o.Identities})
	if err != nil {
		return rep, err
	}
	rep.Verified, rep.SnapshotCluster, rep.RaftIndex = true, m.ClusterID, m.RaftIndex
	phase("verify")

	// A server of its own for this drill, reachable only through its
	// socket: the restored copy holds production's tokens, leases and
	// secret_ids of the snapshot's day. OpenBao needs generate-root turned
	// back on for the root token made from the original shares.
	audit := o.AuditDirs
	if audit == nil {
		audit = DefaultAuditDirs
	}
	lv, err := localvault.Launch(ctx, localvault.Options{Binary: o.Binary, Name: "vault-snap-drill", NodeID: "vault-snap-drill",
		TempDir: o.TempDir, TTL: 2 * time.Hour, GenerateRoot: true, Listener: localvault.Unix, PrivateDirs: audit})
	if err != nil {
		return rep, fmt.Errorf("starting the drill's vault server: %w", err)
	}
	phase("start")
	defer func() {
		mark = time.Now()
		cerr := lv.Close()
		phase("teardown")
		rep.TornDown = cerr == nil
		if cerr != nil && err == nil {
			err = fmt.Errorf("removing the drill directory: %w", cerr)
		}
	}()
	fail := lv.WithLog
	// Vault keeps the seal configuration it started with in memory after a
	// restore: a server split like the snapshot's cluster unseals with that
	// cluster's shares at once; any other is restarted after the restore.
	shares, threshold := m.SealShares, m.SealThreshold
	if shares < 1 || threshold < 1 || threshold > shares {
		shares, threshold = 1, 1
	}
	init, err := lv.Init(ctx, shares, threshold)
	if err != nil {
		return rep, fail(err)
	}
	// Restoring needs an unsealed server.
	if _, err := lv.Unseal(ctx, init.Keys); err != nil {
		return rep, fail(fmt.Errorf("unsealing the drill server: %w", err))
	}
	phase("init")
	vc, err := lv.Client(init.RootToken)
	if err != nil {
		return rep, err
	}
	r, err := open(path, o.Identities)
	if err != nil {
		return rep, err
	}
	err = restoreStream(ctx, vc, r, true)
	r.Close()
	if err != nil {
		return rep, fail(fmt.Errorf("restoring into the drill server: %w", err))
	}
	rep.Restored = true
	phase("restore")
	rep.SealedAfter = waitSealed(ctx, vc, 30*time.Second)
	if m.SealShares == 0 || m.SealThreshold == 0 {
		if err := lv.Restart(ctx); err != nil {
			return rep, fail(fmt.Errorf("restarting the drill server after the restore: %w", err))
		}
		rep.SealedAfter = true
	}
	phase("seal")
	if rep.SealedAfter {
		if rep.SharesUsed, err = lv.Unseal(ctx, o.Shares); err != nil {
			if fault.Is(err, fault.BadRequest) { // "invalid key": not this cluster's shares
				err = fault.New(fault.Sealed, "", "", err)
			}
			return rep, fault.WithHint(fault.New(fault.KindOf(err), "", "", fail(fmt.Errorf("unsealing the restored snapshot: %w", err))),
				"give shares of the cluster the snapshot was taken from")
		}
	}
	rep.Unsealed = true
	phase("unseal")
	if h, err := vc.Sys().HealthWithContext(ctx); err == nil {
		rep.RestoredCluster, rep.VaultVersion = h.ClusterID, h.Version
	}
	root, err := generateRoot(ctx, vc, o.Shares)
	if err != nil {
		return rep, fail(fmt.Errorf("making a root token on the drill server: %w", err))
	}
	vc.SetToken(root)
	if rep.TokensRevoked, err = revokeAll(ctx, vc); err != nil {
		return rep, fail(fmt.Errorf("revoking the restored copy's tokens and leases: %w", err))
	}
	rep.LeasesRevoked = true

	var failed []string
	for _, c := range o.Canaries {
		cr := CanaryResult{Path: c}
		s, err := vc.Read(ctx, c)
		switch {
		case err != nil:
			cr.Error = err.Error()
		case len(s.Data) == 0:
			cr.Error = "no data"
		default:
			cr.OK = true
		}
		if !cr.OK {
			failed = append(failed, c)
		}
		rep.Canaries = append(rep.Canaries, cr)
	}
	counts, _, cerr := CountKV(ctx, vc)
	if cerr == nil {
		rep.KVCounts = counts
	}
	phase("check")
	if len(failed) > 0 {
		return rep, fault.New(fault.NotFound, "", "", fmt.Errorf("canary not readable after the restore: %s", strings.Join(failed, ", ")))
	}
	if cerr != nil {
		return rep, fmt.Errorf("counting KV secrets: %w", cerr)
	}
	if m.KVCounts != nil || len(o.ExpectKV) > 0 {
		// Only the mounts the manifest counted: save's token may list fewer.
		want := map[string]int{}
		for k, v := range m.KVCounts {
			want[k] = v
		}
		for k, v := range o.ExpectKV {
			want[k] = v
		}
		rep.KVCountsExpected = want
		match := true
		for k, w := range want {
			match = match && counts[k] == w
		}
		rep.KVCountsMatch = &match
		if !match {
			return rep, fault.New(fault.Mismatch, "", "", fmt.Errorf("KV secret counts differ from the expected: %s", diffCounts(want, counts)))
		}
	}
	return rep, nil
}

func diffCounts(want, got map[string]int) string {
	var out []string
	for k, w := range want {
		if got[k] != w {
			out = append(out, fmt.Sprintf("%s %d, expected %d", k, got[k], w))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// generateRoot makes a root token with a threshold of shares, through
// sys/generate-root with a one-time password the server picks.
func generateRoot(ctx context.Context, vc *vaultclient.Client, shares []string) (string, error) {
	vc.Sys().GenerateRootCancelWithContext(ctx)
	st, err := vc.Sys().GenerateRootInitWithContext(ctx, "", "")
	if err != nil {
		return "", vc.Classify(err, "starting", "sys/generate-root/attempt")
	}
	otp, nonce := st.OTP, st.Nonce
	if otp == "" {
		return "", errors.New("the server returned no one-time password")
	}
	for _, s := range shares {
		if st, err = vc.Sys().GenerateRootUpdateWithContext(ctx, s, nonce); err != nil {
			return "", vc.Classify(err, "submitting key share to", "sys/generate-root/update")
		}
		if st.Complete {
			break
		}
	}
	if !st.Complete || st.EncodedToken == "" {
		return "", fault.New(fault.Sealed, "", "", errors.New("not enough shares to make a root token"))
	}
	enc, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(st.EncodedToken, "="))
	if err != nil || len(enc) != len(otp) {
		return "", errors.New("cannot decode the generated root token")
	}
	tok := make([]byte, len(enc))
	for i := range enc {
		tok[i] = enc[i] ^ otp[i]
	}
	return string(tok), nil
}

// revokeAll revokes every lease and every token of the restored copy but
// the caller's own: production's credentials of the snapshot's day,
// revoked or spent there since, must not answer even here. Tokens without
// a lease (root tokens) go by accessor.
func revokeAll(ctx context.Context, vc *vaultclient.Client) (int, error) {
	l := vc.Logical()
	prefixes, err := l.ListWithContext(ctx, "sys/leases/lookup/")
	if err != nil {
		return 0, vc.Classify(err, "listing", "sys/leases/lookup/")
	}
	for _, p := range listKeys(prefixes) {
		if _, err := l.WriteWithContext(ctx, "sys/leases/revoke-prefix/"+p, nil); err != nil {
			return 0, vc.Classify(err, "revoking", "sys/leases/revoke-prefix/"+p)
		}
	}
	self, err := vc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return 0, vc.Classify(err, "looking up", "auth/token/lookup-self")
	}
	own, _ := self.Data["accessor"].(string)
	accessors, err := l.ListWithContext(ctx, "auth/token/accessors")
	if err != nil {
		return 0, vc.Classify(err, "listing", "auth/token/accessors")
	}
	n := 0
	for _, a := range listKeys(accessors) {
		if a == own {
			continue
		}
		// Revoking a parent takes its children: gone already is fine.
		if err := vc.Auth().Token().RevokeAccessorWithContext(ctx, a); err != nil {
			if fault.Is(vc.Classify(err, "", ""), fault.BadRequest) {
				continue
			}
			return n, vc.Classify(err, "revoking", "auth/token/revoke-accessor")
		}
		n++
	}
	return n, nil
}

func listKeys(s *api.Secret) []string {
	if s == nil {
		return nil
	}
	raw, _ := s.Data["keys"].([]any)
	out := make([]string, 0, len(raw))
	for _, k := range raw {
		if v, ok := k.(string); ok {
			out = append(out, v)
		}
	}
	return out
}
