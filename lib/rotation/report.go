package rotation

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HistoryEntry is one version of a secret, for vault-rotate history.
type HistoryEntry struct {
	Version     int        `json:"version"`
	CreatedTime time.Time  `json:"created_time"`
	RotatedBy   string     `json:"rotated_by"`
	RotationID  string     `json:"rotation_id,omitempty"`
	Key         string     `json:"key,omitempty"`
	Stage       string     `json:"stage"` // current, previous, old
	Deleted     bool       `json:"deleted"`
	DeletedTime *time.Time `json:"deletion_time,omitempty"`
	Destroyed   bool       `json:"destroyed"`
}

// History lists every version of p that Vault keeps, oldest first.
func (e *Engine) History(ctx context.Context, p string) ([]HistoryEntry, error) {
	p = strings.Trim(p, "/")
	m, err := e.readMeta(ctx, p)
	if err != nil {
		return nil, err
	}
	now := e.now()
	previous := map[int]bool{}
	for k, v := range m.Custom {
		if key, ok := strings.CutPrefix(k, "previous."); ok {
			until, err := time.Parse(time.RFC3339, m.Custom["previous_until."+key])
			if n, _ := strconv.Atoi(v); err == nil && now.Before(until) {
				previous[n] = true
			}
		}
	}
	var out []HistoryEntry
	for n, vi := range m.Versions {
		h := HistoryEntry{Version: n, CreatedTime: vi.Created.UTC(), Destroyed: vi.Destroyed, RotatedBy: "external", Stage: "old"}
		if !vi.Deleted.IsZero() && !vi.Deleted.After(now) {
			h.Deleted = true
			dt := vi.Deleted.UTC()
			h.DeletedTime = &dt
		}
		if lbl, ok := m.Custom[fmt.Sprintf("v%d", n)]; ok {
			for _, part := range strings.Split(lbl, ";") {
				k, v, _ := strings.Cut(part, "=")
				switch k {
				case "by":
					h.RotatedBy = v
				case "key":
					h.Key = v
				case "rotation":
					h.RotationID = v
				}
			}
		}
		switch {
		case n == m.Current:
			h.Stage = "current"
		case previous[n]:
			h.Stage = "previous"
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Status is one staging record, for vault-rotate status.
type Status struct {
	Path        string `json:"path"`
	Key         string `json:"key"`
	Stage       string `json:"stage"`
	RotationID  string `json:"rotation_id"`
	BaseVersion int    `json:"base_version"`
	StartedAt   string `json:"started_at"`
	UpdatedAt   string `json:"updated_at"`
	Owner       string `json:"owner"`
	OwnerAlive  bool   `json:"owner_alive"`
	LeaseUntil  string `json:"lease_until"`
	Reason      string `json:"reason,omitempty"`
	Interrupted bool   `json:"interrupted"`
}

// Status lists the rotations that have not finished: interrupted, running
// or failed ones (with all set, finished ones too).
func (e *Engine) Status(ctx context.Context, all bool) ([]Status, error) {
	e.init()
	paths, err := e.list(ctx, StagingPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*Status, len(paths))
	err = e.parallel(ctx, len(paths), func(i int) error {
		p := strings.TrimPrefix(paths[i], StagingPrefix)
		rec, _, err := e.readRecord(ctx, p)
		if err != nil || rec == nil {
			return err
		}
		if rec.Stage == StageFinished && !all {
			return nil
		}
		alive := rec.active() && e.ownerAlive(rec)
		out[i] = &Status{Path: p, Key: rec.Key, Stage: rec.Stage, RotationID: rec.RotationID, BaseVersion: rec.BaseVersion,
			StartedAt: rec.StartedAt, UpdatedAt: rec.UpdatedAt, Owner: fmt.Sprintf("%s:%d", rec.OwnerHost, rec.OwnerPID),
			OwnerAlive: alive, LeaseUntil: rec.LeaseUntil, Reason: rec.Reason, Interrupted: rec.active() && !alive}
		return nil
	})
	var list []Status
	for _, s := range out {
		if s != nil {
			list = append(list, *s)
		}
	}
	return list, err
}
