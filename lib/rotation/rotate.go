package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// KillPoints are where Engine.KillAt can stop a run, in step order (for the
// tests that prove a run killed at any point is resumed).
var KillPoints = []string{"created", "set-hook", "set", "test-hook", "tested", "promoted"}

// Engine rotates the secrets of a policy on one Vault server.
type Engine struct {
	Client      *vaultclient.Client
	Policy      *Policy
	Now         func() time.Time
	Concurrency int
	RotatedBy   string // recorded with every version vault-rotate writes
	// KillAt makes the process kill itself (SIGKILL) at that point of the
	// first rotation it reaches there: a test-only fault injector.
	KillAt string

	host     string
	pid      int
	pidStart string
	// staged lists the paths that have a staging record, when Run listed
	// them up front (nil: read each record).
	staged map[string]bool
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) init() {
	if e.host == "" {
		e.host, _ = os.Hostname()
		e.pid = os.Getpid()
		e.pidStart = procStart(e.pid)
	}
	if e.Concurrency <= 0 {
		e.Concurrency = 32
	}
	// Keep a connection per worker: the default pool of 3 idle connections
	// makes every other request a new TLS handshake.
	if e.Client != nil {
		if tr, ok := e.Client.CloneConfig().HttpClient.Transport.(*http.Transport); ok && tr.MaxIdleConnsPerHost < e.Concurrency {
			tr.MaxIdleConnsPerHost = e.Concurrency
		}
	}
}

func (e *Engine) kill(point string) {
	if e.KillAt != "" && e.KillAt == point {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}

// Result is one line of vault-rotate run.
type Result struct {
	Path            string `json:"path"`
	Key             string `json:"key"`
	Action          string `json:"action"` // rotated, resumed, not_due, outside_window, would_rotate, busy, failed, rolled_back
	Stage           string `json:"stage,omitempty"`
	Version         int    `json:"version,omitempty"`
	PreviousVersion int    `json:"previous_version,omitempty"`
	RotationID      string `json:"rotation_id,omitempty"`
	Error           string `json:"error,omitempty"`
}

// RunOptions select what Run does.
type RunOptions struct {
	Path   string // rotate this secret now, due or not
	DryRun bool
}

// Run rotates every due target (or opts.Path now), resumes interrupted
// rotations, and returns a result per target. The error is of kind Unknown
// (exit 1) when a rotation failed, Contested (exit 3) when another run held
// one, nil otherwise.
func (e *Engine) Run(ctx context.Context, targets []*Target, opts RunOptions) ([]Result, error) {
	e.init()
	if len(targets) > 1 {
		// One listing instead of a read per secret; a record made after it
		// is caught by the check-and-set of our own first write.
		paths, err := e.list(ctx, StagingPrefix)
		if err != nil {
			return nil, err
		}
		e.staged = make(map[string]bool, len(paths))
		for _, p := range paths {
			e.staged[strings.TrimPrefix(p, StagingPrefix)] = true
		}
		defer func() { e.staged = nil }()
	}
	results := make([]Result, len(targets))
	_ = e.parallel(ctx, len(targets), func(i int) error {
		results[i] = e.one(ctx, targets[i], opts)
		return nil
	})
	var failed, busy int
	for _, r := range results {
		switch r.Action {
		case "failed", "rolled_back":
			failed++
		case "busy":
			busy++
		}
	}
	switch {
	case failed > 0:
		return results, fault.Errorf(fault.Unknown, "%d rotation(s) failed; the secrets keep their current values (see the report)", failed)
	case busy > 0:
		return results, fault.WithHint(fault.Errorf(fault.Contested, "%d rotation(s) are held by another run", busy), "vault-rotate status shows who holds them")
	}
	return results, nil
}

func (e *Engine) one(ctx context.Context, t *Target, opts RunOptions) Result {
	r := t.Rule
	res := Result{Path: t.Path, Key: r.Key}
	fail := func(err error) Result {
		res.Action, res.Error = "failed", err.Error()
		return res
	}
	rec, recVer, err := e.readRecord(ctx, t.Path)
	if err != nil {
		return fail(err)
	}
	if rec.active() && rec.Key != r.Key {
		// Another key's record: the keys of one path rotate one at a time.
		res.Action, res.Stage = "busy", "other key"
		return res
	}
	resumed := rec.active()
	if resumed {
		if e.ownerAlive(rec) {
			res.Action, res.Stage, res.RotationID = "busy", rec.Stage, rec.RotationID
			return res
		}
		res.RotationID = rec.RotationID
		if opts.DryRun {
			res.Action, res.Stage = "would_resume", rec.Stage
			return res
		}
		// Take the record over; of two runs doing so, one wins.
		if recVer, err = e.writeRecord(ctx, rec, recVer); err != nil {
			if fault.Is(err, fault.Conflict) {
				res.Action = "busy"
				return res
			}
			return fail(err)
		}
	} else {
		d := e.Due(t)
		if opts.Path == "" {
			if !d.Overdue {
				res.Action = "not_due"
				return res
			}
			if !d.InWindow {
				res.Action = "outside_window"
				return res
			}
		}
		if opts.DryRun {
			res.Action = "would_rotate"
			return res
		}
		cur, err := e.Client.KV(e.Policy.Mount).Get(ctx, t.Path, 0)
		if err != nil {
			return fail(err)
		}
		id := newID()
		value, err := Generate(ctx, r, HookRequest{Path: t.Path, Key: r.Key, RotationID: id})
		if err != nil {
			return fail(err)
		}
		now := e.now().Format(time.RFC3339)
		rec = &record{Stage: StageCreated, RotationID: id, Path: t.Path, Key: r.Key, BaseVersion: cur.Version,
			Value: value, StartedAt: now, RotatedBy: e.RotatedBy, base: cur.Data}
		if recVer, err = e.writeRecord(ctx, rec, recVer); err != nil {
			if fault.Is(err, fault.Conflict) {
				res.Action = "busy"
				return res
			}
			return fail(err)
		}
		res.RotationID = id
		e.kill("created")
	}
	res, err = e.advance(ctx, t, rec, recVer, res)
	if err != nil {
		return fail(err)
	}
	if resumed && res.Action == "rotated" {
		res.Action = "resumed"
	}
	return res
}

// advance carries rec from its stage to finished (or failed).
func (e *Engine) advance(ctx context.Context, t *Target, rec *record, recVer int, res Result) (Result, error) {
	r := t.Rule
	kv := e.Client.KV(e.Policy.Mount)
	step := func(stage string) error {
		rec.Stage = stage
		v, err := e.writeRecord(ctx, rec, recVer)
		if err != nil {
			if fault.Is(err, fault.Conflict) {
				return fault.New(fault.Contested, "", t.Path, errors.New("another run took this rotation over"))
			}
			return err
		}
		recVer = v
		return nil
	}
	currentValue := func() (map[string]any, string, error) {
		if rec.base == nil {
			cur, err := kv.Get(ctx, t.Path, rec.BaseVersion)
			if err != nil {
				return nil, "", err
			}
			rec.base = cur.Data
		}
		s, _ := rec.base[r.Key].(string)
		return rec.base, s, nil
	}
	req := HookRequest{Path: t.Path, Key: r.Key, RotationID: rec.RotationID}
	for {
		switch rec.Stage {
		case StageCreated:
			if r.Set != nil {
				_, old, err := currentValue()
				if err != nil {
					return res, err
				}
				req := req
				req.Action, req.Value, req.CurrentValue = "set", rec.Value, old
				if _, err := RunHook(ctx, r.Set, req); err != nil {
					return e.rollback(ctx, t, rec, recVer, res, err)
				}
			}
			e.kill("set-hook")
			if r.Set == nil {
				rec.Stage = StageSet // nothing ran that a resumed run must not repeat
			} else if err := step(StageSet); err != nil {
				return res, err
			}
			e.kill("set")
		case StageSet:
			if r.Test != nil {
				_, old, err := currentValue()
				if err != nil {
					return res, err
				}
				req := req
				req.Action, req.Value, req.CurrentValue = "test", rec.Value, old
				if _, err := RunHook(ctx, r.Test, req); err != nil {
					return e.rollback(ctx, t, rec, recVer, res, err)
				}
			}
			e.kill("test-hook")
			if r.Test == nil {
				rec.Stage = StageTested
			} else if err := step(StageTested); err != nil {
				return res, err
			}
			e.kill("tested")
		case StageTested:
			newVersion, m, err := e.promote(ctx, t, rec, currentValue)
			if err != nil {
				return res, err
			}
			if newVersion == 0 {
				return e.changedUnderneath(ctx, rec, recVer, res, t)
			}
			e.kill("promoted")
			if err := e.label(ctx, t, rec, newVersion, m); err != nil {
				return res, err
			}
			rec.Value = ""
			if err := step(StageFinished); err != nil {
				return res, err
			}
			res.Action, res.Stage, res.Version, res.PreviousVersion = "rotated", StageFinished, newVersion, rec.BaseVersion
			return res, nil
		default:
			return res, fmt.Errorf("staging record %s: unknown stage %q", stagingPath(t.Path), rec.Stage)
		}
	}
}

// promote CAS-writes the staged value over the base version. It returns
// the new version (0 when someone else changed the secret meanwhile) and
// the metadata it read, if any. A secret that already holds the staged
// value was promoted by a run that died before recording it.
func (e *Engine) promote(ctx context.Context, t *Target, rec *record, base func() (map[string]any, string, error)) (int, *meta, error) {
	kv := e.Client.KV(e.Policy.Mount)
	if rec.base != nil || t.meta == nil || t.meta.Current == rec.BaseVersion {
		data, _, err := base()
		if err != nil {
			return 0, nil, err
		}
		next := make(map[string]any, len(data))
		for k, v := range data {
			next[k] = v
		}
		next[t.Rule.Key] = rec.Value
		v, err := kv.Put(ctx, t.Path, next, rec.BaseVersion)
		if err == nil {
			return v, t.meta, nil
		}
		if !fault.Is(err, fault.Conflict) {
			return 0, nil, err
		}
	}
	m, err := e.readMeta(ctx, t.Path)
	if err != nil {
		return 0, nil, err
	}
	if m.Current == rec.BaseVersion {
		return 0, nil, fmt.Errorf("writing %s: check-and-set failed at the current version %d", t.Path, m.Current)
	}
	cur, err := kv.Get(ctx, t.Path, m.Current)
	if err != nil {
		return 0, nil, err
	}
	if v, _ := cur.Data[t.Rule.Key].(string); v != rec.Value {
		return 0, m, nil
	}
	return m.Current, m, nil
}

// label records the rotation in the secret's custom_metadata: when the key
// rotated, which version is previous and until when, and who wrote the new
// version; labels of versions that no longer exist are dropped.
func (e *Engine) label(ctx context.Context, t *Target, rec *record, newVersion int, m *meta) error {
	r := t.Rule
	now := e.now()
	if m == nil {
		m = &meta{}
	}
	patch := map[string]any{
		"rotated_at." + r.Key:          now.Format(time.RFC3339),
		"previous." + r.Key:            strconv.Itoa(rec.BaseVersion),
		"previous_until." + r.Key:      now.Add(r.Grace).Format(time.RFC3339),
		fmt.Sprintf("v%d", newVersion): "by=" + rec.RotatedBy + ";key=" + r.Key + ";rotation=" + rec.RotationID,
	}
	keep := r.KeepVersions
	if m.MaxVersions > 0 && m.MaxVersions < keep {
		keep = m.MaxVersions
	}
	for k := range m.Custom {
		if n, err := strconv.Atoi(strings.TrimPrefix(k, "v")); err == nil && strings.HasPrefix(k, "v") && n <= newVersion-keep {
			patch[k] = nil
		}
	}
	_, err := e.Client.Logical().JSONMergePatch(ctx, e.Policy.Mount+"/metadata/"+t.Path, map[string]any{"custom_metadata": patch})
	return e.Client.Classify(err, "labelling", e.Policy.Mount+"/metadata/"+t.Path)
}

// rollback undoes a set hook after a failure: the set hook runs again with
// the value that is still current, and the record is marked failed.
func (e *Engine) rollback(ctx context.Context, t *Target, rec *record, recVer int, res Result, cause error) (Result, error) {
	r := t.Rule
	res.Action, res.Stage, res.Error = "failed", rec.Stage, cause.Error()
	if r.Set != nil { // the set hook ran (or failed half-way): give the target its value back
		cur, err := e.Client.KV(e.Policy.Mount).Get(ctx, t.Path, rec.BaseVersion)
		if err != nil {
			return res, err
		}
		old, _ := cur.Data[r.Key].(string)
		req := HookRequest{Action: "rollback", Path: t.Path, Key: r.Key, Value: old, CurrentValue: old, RotationID: rec.RotationID}
		if _, err := RunHook(ctx, r.Set, req); err != nil {
			res.Error += "; rollback failed too: " + err.Error()
		} else {
			res.Action = "rolled_back"
		}
	}
	rec.Stage, rec.Reason, rec.Value = StageFailed, cause.Error(), ""
	if _, err := e.writeRecord(ctx, rec, recVer); err != nil {
		res.Error += "; recording the failure: " + err.Error()
	}
	return res, nil
}

func (e *Engine) changedUnderneath(ctx context.Context, rec *record, recVer int, res Result, t *Target) (Result, error) {
	rec.Stage, rec.Reason, rec.Value = StageFailed, "the secret was changed by another writer during the rotation", ""
	res.Action, res.Stage, res.Error = "failed", StageFailed, rec.Reason
	if _, err := e.writeRecord(ctx, rec, recVer); err != nil {
		res.Error += "; recording the failure: " + err.Error()
	}
	return res, nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
