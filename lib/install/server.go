package install

import (
	"context"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// VaultState is the server as last seen.
type VaultState struct {
	Reachable   bool `json:"reachable"`
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	Standby     bool `json:"standby"`
}

func state(ctx context.Context, vc *vaultclient.Client) (*VaultState, error) {
	// sys/init first: it is the one answer that decides whether to initialise.
	initialized, err := vc.Sys().InitStatusWithContext(ctx)
	if err != nil {
		err = vaultclient.Classify(err, "reading init status", "sys/init")
		if fault.Is(err, fault.Unreachable) {
			return &VaultState{}, nil
		}
		return &VaultState{}, err
	}
	ss, err := vc.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return &VaultState{Reachable: true, Initialized: initialized}, vaultclient.Classify(err, "reading seal status", "sys/seal-status")
	}
	st := &VaultState{Reachable: true, Initialized: initialized, Sealed: ss.Sealed}
	if ss.Initialized && !ss.Sealed {
		h, err := vc.Sys().HealthWithContext(ctx)
		if err != nil {
			return st, vaultclient.Classify(err, "reading health", "sys/health")
		}
		st.Standby = h.Standby
	}
	return st, nil
}

func waitReachable(ctx context.Context, vc *vaultclient.Client, wait time.Duration) (*VaultState, error) {
	deadline := time.Now().Add(wait)
	// A node that was just unsealed reports standby until it has won its
	// own election; give it that long before treating it as a standby.
	standbyDeadline := time.Now().Add(max(wait, 5*time.Second))
	for {
		st, err := state(ctx, vc)
		if err == nil && st.Reachable && (!st.Initialized || st.Sealed || !st.Standby || time.Now().After(standbyDeadline)) {
			return st, nil
		}
		if (err != nil || !st.Reachable) && time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
