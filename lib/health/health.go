// Package health reads the state of a Vault server (sys/health and
// sys/seal-status) into one report, and names the states monitoring and
// start-up scripts act on.
package health

import (
	"context"
	"errors"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// Status is the one-word state of a server.
type Status string

const (
	Active        Status = "active"
	Standby       Status = "standby"
	PerfStandby   Status = "perf_standby"
	Sealed        Status = "sealed"
	Uninitialized Status = "uninitialized"
	Unreachable   Status = "unreachable"
)

// Report is what Check found. Field names are stable (snake_case JSON).
type Report struct {
	Address            string `json:"address"`
	Status             Status `json:"status"`
	Initialized        bool   `json:"initialized"`
	Sealed             bool   `json:"sealed"`
	Standby            bool   `json:"standby"`
	PerformanceStandby bool   `json:"performance_standby"`
	Version            string `json:"version,omitempty"`
	ClusterName        string `json:"cluster_name,omitempty"`
	ClusterID          string `json:"cluster_id,omitempty"`
	ServerTimeUTC      int64  `json:"server_time_utc,omitempty"`
	Seal               *Seal  `json:"seal,omitempty"`
	// SealedSince is set by vault-health --textfile, which carries it from
	// one check to the next (RFC 3339).
	SealedSince string `json:"sealed_since,omitempty"`
	CheckedAt   string `json:"checked_at"`
	Error       string `json:"error,omitempty"`
}

// Seal is the part of sys/seal-status that matters to operators.
type Seal struct {
	Type        string `json:"type"`
	Threshold   int    `json:"threshold"`
	Shares      int    `json:"shares"`
	Progress    int    `json:"progress"`
	StorageType string `json:"storage_type,omitempty"`
}

// Check asks the server at c for its health. An unreachable server gives a
// report with Status Unreachable and the classified error.
func Check(ctx context.Context, c *vaultclient.Client) (*Report, error) {
	r := &Report{Address: c.Address(), CheckedAt: time.Now().UTC().Format(time.RFC3339)}
	h, err := c.Sys().HealthWithContext(ctx)
	if err != nil {
		err = vaultclient.Classify(err, "checking health", "")
		if fault.Is(err, fault.Unreachable) || fault.Is(err, fault.TLS) {
			r.Status = Unreachable
			r.Error = errors.Unwrap(err).Error()
		}
		return r, err
	}
	r.Initialized, r.Sealed, r.Standby, r.PerformanceStandby = h.Initialized, h.Sealed, h.Standby, h.PerformanceStandby
	r.Version, r.ClusterName, r.ClusterID, r.ServerTimeUTC = h.Version, h.ClusterName, h.ClusterID, h.ServerTimeUTC
	if ss, err := c.Sys().SealStatusWithContext(ctx); err == nil {
		r.Seal = &Seal{Type: ss.Type, Threshold: ss.T, Shares: ss.N, Progress: ss.Progress, StorageType: ss.StorageType}
		if r.Version == "" {
			r.Version = ss.Version
		}
	}
	switch {
	case !h.Initialized:
		r.Status = Uninitialized
	case h.Sealed:
		r.Status = Sealed
	case h.PerformanceStandby:
		r.Status = PerfStandby
	case h.Standby:
		r.Status = Standby
	default:
		r.Status = Active
	}
	return r, nil
}

// Ready reports whether s counts as serving: active, or any standby when
// standbyOK.
func Ready(s Status, standbyOK bool) bool {
	return s == Active || standbyOK && (s == Standby || s == PerfStandby)
}

// WaitOptions say how long Wait polls and what it waits for.
type WaitOptions struct {
	For      time.Duration // keep checking this long (0: check once)
	Timeout  time.Duration // time allowed for each check (default 5s)
	Interval time.Duration // pause between checks (default 500ms)
	// Until reports whether a report is the one waited for (default: the
	// server is active). It is asked only about checks without an error.
	Until func(*Report) bool
}

// Wait checks the server at c until o.Until holds, o.For has passed or ctx
// is done, and returns the last report and the last check's error.
func Wait(ctx context.Context, c *vaultclient.Client, o WaitOptions) (*Report, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.Until == nil {
		o.Until = func(r *Report) bool { return r.Status == Active }
	}
	deadline := time.Now().Add(o.For)
	for {
		cctx, cancel := context.WithTimeout(ctx, o.Timeout)
		rep, err := Check(cctx, c)
		cancel()
		if err == nil && o.Until(rep) || !time.Now().Before(deadline) || ctx.Err() != nil {
			return rep, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(o.Interval):
		}
	}
}

// Err is the error a report stands for when the caller wants the server
// ready (active; a standby too when standbyOK): nil when it is ready.
func (r *Report) Err(standbyOK bool) error {
	switch r.Status {
	case Sealed:
		return fault.New(fault.Sealed, "", "", errors.New("vault is sealed"))
	case Uninitialized:
		return fault.New(fault.Uninitialized, "", "", errors.New("vault is not initialized"))
	case Standby, PerfStandby:
		if !standbyOK {
			return fault.New(fault.Standby, "", "", errors.New("vault is a standby node"))
		}
	case Unreachable:
		return fault.New(fault.Unreachable, "", "", errors.New("vault is unreachable"))
	}
	return nil
}
