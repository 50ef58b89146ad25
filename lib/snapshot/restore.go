package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"filippo.io/age"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// RestoreOptions configure Restore.
type RestoreOptions struct {
	Force      bool           // restore a snapshot of another cluster (snapshot-force)
	SafetyDir  string         // where the safety snapshot of the target goes; "" skips it
	Identities []age.Identity // for an age copy
	Manifest   string         // manifest path; beside the file when empty
	Shares     []string       // unseal the target afterwards with these (the snapshot's cluster's shares)
	Now        func() time.Time
}

// RestoreReport is restore's JSON report.
type RestoreReport struct {
	File            string `json:"file"`
	Target          string `json:"target"`
	TargetCluster   string `json:"target_cluster_id"`
	SnapshotCluster string `json:"snapshot_cluster_id"`
	RaftIndex       uint64 `json:"raft_index"`
	Forced          bool   `json:"forced"`
	SafetySnapshot  string `json:"safety_snapshot,omitempty"`
	Restored        bool   `json:"restored"`
	Sealed          bool   `json:"sealed"`
	// RestartNeeded: the target's Shamir split differs from the snapshot's
	// cluster's, and Vault keeps the split it started with until restarted.
	RestartNeeded bool `json:"restart_needed,omitempty"`
	SharesUsed    int  `json:"shares_used,omitempty"`
}

// ErrOtherCluster is returned when the snapshot comes from another cluster
// and Force is not set.
var ErrOtherCluster = errors.New("the snapshot comes from another cluster")

// Restore restores a snapshot file into vc's server. It verifies the file
// first and touches nothing if that fails; refuses a snapshot of another
// cluster unless o.Force; saves a safety snapshot of the target into
// o.SafetyDir first; then streams the file to sys/storage/raft/snapshot
// (or snapshot-force). After a forced restore the target holds the other
// cluster's keyring: its own unseal keys and tokens no longer apply, the
// snapshot's do; with o.Shares it is unsealed with them.
func Restore(ctx context.Context, vc *vaultclient.Client, path string, o RestoreOptions) (*RestoreReport, error) {
	rep := &RestoreReport{File: path, Target: vc.Address()}
	vr, m, err := Verify(path, VerifyOptions{Manifest: o.Manifest, Identities: o.Identities})
	if err != nil {
		return rep, fault.WithHint(fmt.Errorf("refusing to restore: %w", err), "nothing was changed; restore another snapshot")
	}
	if !vr.ContentsChecked {
		return rep, fault.Usagef("%s is age-encrypted: pass --age-identity so that it can be verified and restored", path)
	}
	rep.SnapshotCluster, rep.RaftIndex = m.ClusterID, m.RaftIndex
	h, err := vc.Sys().HealthWithContext(ctx)
	if err != nil {
		return rep, vc.Classify(err, "reading", "sys/health")
	}
	if h.Sealed || !h.Initialized {
		return rep, fault.WithHint(fault.New(fault.Sealed, "", "", errors.New("the target vault is sealed or not initialised")),
			"a new host: vault-install apply (init + unseal with its own new shares), then restore --force")
	}
	rep.TargetCluster = h.ClusterID
	other := h.ClusterID != m.ClusterID
	if ss, err := vc.Sys().SealStatusWithContext(ctx); err == nil && other && m.SealShares > 0 &&
		(ss.N != m.SealShares || ss.T != m.SealThreshold) {
		rep.RestartNeeded = true
	}
	if other && !o.Force {
		return rep, fault.WithHint(fault.New(fault.Usage, "", "", fmt.Errorf("%w (%s; the target is %s)", ErrOtherCluster, m.ClusterID, h.ClusterID)),
			"pass --force to replace the target's data, keyring and tokens with the snapshot's")
	}
	rep.Forced = other
	if o.SafetyDir != "" {
		sm, err := Save(ctx, vc, SaveOptions{Dir: o.SafetyDir, Prefix: "safety-", Now: o.Now})
		if err != nil {
			return rep, fault.WithHint(fmt.Errorf("taking the safety snapshot of the target: %w", err), "nothing was restored; pass --no-safety-snapshot to go without one")
		}
		rep.SafetySnapshot = sm.File
	}
	r, err := open(path, o.Identities)
	if err != nil {
		return rep, err
	}
	defer r.Close()
	if err := restoreStream(ctx, vc, r, other); err != nil {
		return rep, fmt.Errorf("restoring %s: %w", path, err)
	}
	rep.Restored = true
	if other {
		rep.Sealed = waitSealed(ctx, vc, 30*time.Second)
		if rep.Sealed && len(o.Shares) > 0 && !rep.RestartNeeded {
			res, err := unseal.ToActive(ctx, vc, o.Shares)
			if res != nil {
				rep.SharesUsed = res.Submitted
			}
			if err != nil {
				return rep, fmt.Errorf("unsealing after the restore: %w", err)
			}
			rep.Sealed = false
		}
	}
	return rep, nil
}

// waitSealed waits up to within until vc's server reports sealed (a
// force-restored snapshot of another cluster seals the node).
func waitSealed(ctx context.Context, vc *vaultclient.Client, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		st, err := vc.Sys().SealStatusWithContext(ctx)
		if err == nil && st.Sealed {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}
