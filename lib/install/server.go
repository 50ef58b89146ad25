package install

import (
	"context"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/health"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// VaultState is the server as last seen.
type VaultState struct {
	Reachable   bool `json:"reachable"`
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	Standby     bool `json:"standby"`
}

// vaultState turns a health report into the server's state; a server that
// cannot be reached is a state (not reachable), not an error.
func vaultState(rep *health.Report, err error) (*VaultState, error) {
	if rep == nil || rep.Status == health.Unreachable {
		return &VaultState{}, nil
	}
	if err != nil {
		return &VaultState{}, err
	}
	// Status, not the raw flag: an uninitialised or sealed server reports
	// standby in sys/health.
	standby := rep.Status == health.Standby || rep.Status == health.PerfStandby
	return &VaultState{Reachable: true, Initialized: rep.Initialized, Sealed: rep.Sealed, Standby: standby}, nil
}

// state reads the server's state once.
func state(ctx context.Context, vc *vaultclient.Client) (*VaultState, error) {
	return vaultState(health.Check(ctx, vc))
}

// waitReachable waits up to wait for the server to answer. A node that was
// just unsealed reports standby until it has won its own election, so a
// standby is given until max(wait, 5s) to become active before it counts
// as one.
func waitReachable(ctx context.Context, vc *vaultclient.Client, wait time.Duration) (*VaultState, error) {
	standbyDeadline := time.Now().Add(max(wait, 5*time.Second))
	answered := func(*health.Report) bool { return true }
	rep, err := health.Wait(ctx, vc, health.WaitOptions{For: wait, Interval: 250 * time.Millisecond, Until: answered})
	if err == nil && (rep.Status == health.Standby || rep.Status == health.PerfStandby) {
		if left := time.Until(standbyDeadline); left > 0 {
			notStandby := func(r *health.Report) bool { return r.Status != health.Standby && r.Status != health.PerfStandby }
			rep, err = health.Wait(ctx, vc, health.WaitOptions{For: left, Interval: 250 * time.Millisecond, Until: notStandby})
		}
	}
	return vaultState(rep, err)
}
