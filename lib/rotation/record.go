package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// StagingPrefix is where staging records live, under the KV mount.
const StagingPrefix = "_rotation/"

// Stages of a rotation record.
const (
	StageCreated  = "created"
	StageSet      = "set"
	StageTested   = "tested"
	StageFinished = "finished"
	StageFailed   = "failed"
)

// record is the staging record of a rotation in progress.
type record struct {
	Stage       string `json:"stage"`
	RotationID  string `json:"rotation_id"`
	Path        string `json:"path"`
	Key         string `json:"key"`
	BaseVersion int    `json:"base_version,string"`
	Value       string `json:"value,omitempty"`
	OwnerHost   string `json:"owner_host"`
	OwnerPID    int    `json:"owner_pid,string"`
	OwnerStart  string `json:"owner_start"`
	LeaseUntil  string `json:"lease_until"`
	StartedAt   string `json:"started_at"`
	UpdatedAt   string `json:"updated_at"`
	Reason      string `json:"reason,omitempty"`
	RotatedBy   string `json:"rotated_by"`

	// base is the data of BaseVersion when this process read it.
	base map[string]any
}

func (r *record) active() bool {
	return r != nil && (r.Stage == StageCreated || r.Stage == StageSet || r.Stage == StageTested)
}

func stagingPath(p string) string { return StagingPrefix + p }

// readRecord reads the staging record of p; a missing one is nil at version 0.
func (e *Engine) readRecord(ctx context.Context, p string) (*record, int, error) {
	if e.staged != nil && !e.staged[p] {
		return nil, 0, nil
	}
	s, err := e.Client.KV(e.Policy.Mount).Get(ctx, stagingPath(p), 0)
	if fault.Is(err, fault.NotFound) {
		// A deleted current version still has a version number to CAS against.
		if m, merr := e.readMeta(ctx, stagingPath(p)); merr == nil {
			return nil, m.Current, nil
		}
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	b, _ := json.Marshal(s.Data)
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, s.Version, fmt.Errorf("staging record %s is malformed: %v", stagingPath(p), err)
	}
	return &r, s.Version, nil
}

// writeRecord CAS-writes r over version cas and returns the new version.
func (e *Engine) writeRecord(ctx context.Context, r *record, cas int) (int, error) {
	now := e.now()
	r.UpdatedAt = now.Format(time.RFC3339)
	r.OwnerHost, r.OwnerPID, r.OwnerStart = e.host, e.pid, e.pidStart
	r.LeaseUntil = now.Add(e.Policy.Defaults.Lease).Format(time.RFC3339)
	b, _ := json.Marshal(r)
	var data map[string]any
	_ = json.Unmarshal(b, &data)
	return e.Client.KV(e.Policy.Mount).Put(ctx, stagingPath(r.Path), data, cas)
}

// ownerAlive reports whether the run that owns r may still be working on it.
func (e *Engine) ownerAlive(r *record) bool {
	if r.OwnerHost == e.host {
		if r.OwnerPID == e.pid && r.OwnerStart == e.pidStart {
			return false // our own record, from an earlier step of this process
		}
		start := procStart(r.OwnerPID)
		if start == "" || start != r.OwnerStart {
			return false // that process is gone
		}
	}
	until, err := time.Parse(time.RFC3339, r.LeaseUntil)
	return err == nil && e.now().Before(until)
}

// procStart is the start time of process pid (field 22 of /proc/pid/stat),
// which tells a live owner from a reused pid; "" when there is no such
// process.
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+1:])
		if len(f) > 19 {
			return f[19]
		}
	}
	return ""
}
