package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
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

// Target is one secret field a rule covers.
type Target struct {
	Path string
	Rule *Rule
	meta *meta
}

// meta is the part of a KV v2 metadata read that rotation needs.
type meta struct {
	Current     int
	Oldest      int
	MaxVersions int
	Custom      map[string]string
	Versions    map[int]versionInfo
}

type versionInfo struct {
	Created   time.Time
	Deleted   time.Time
	Destroyed bool
}

func (e *Engine) readMeta(ctx context.Context, p string) (*meta, error) {
	mp := e.Policy.Mount + "/metadata/" + p
	s, err := e.Client.Read(ctx, mp)
	if err != nil {
		return nil, err
	}
	m := &meta{Custom: map[string]string{}, Versions: map[int]versionInfo{}}
	m.Current = toInt(s.Data["current_version"])
	m.Oldest = toInt(s.Data["oldest_version"])
	m.MaxVersions = toInt(s.Data["max_versions"])
	if cm, ok := s.Data["custom_metadata"].(map[string]any); ok {
		for k, v := range cm {
			m.Custom[k] = fmt.Sprint(v)
		}
	}
	if vs, ok := s.Data["versions"].(map[string]any); ok {
		for k, raw := range vs {
			n, _ := strconv.Atoi(k)
			vm, _ := raw.(map[string]any)
			var vi versionInfo
			vi.Created, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(vm["created_time"]))
			vi.Deleted, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(vm["deletion_time"]))
			vi.Destroyed, _ = vm["destroyed"].(bool)
			m.Versions[n] = vi
		}
	}
	return m, nil
}

func toInt(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case float64:
		return int(x)
	case int:
		return x
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

// list walks the mount and returns every secret path, sorted, except the
// staging records.
func (e *Engine) list(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	var walk func(dir string) error
	walk = func(dir string) error {
		keys, err := e.Client.KV(e.Policy.Mount).List(ctx, dir)
		if err != nil {
			return err
		}
		for _, k := range keys {
			full := dir + k
			if strings.HasSuffix(k, "/") {
				if err := walk(full); err != nil {
					return err
				}
				continue
			}
			out = append(out, full)
		}
		return nil
	}
	if err := walk(prefix); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// Secrets lists the mount's secrets, except staging records.
func (e *Engine) Secrets(ctx context.Context) ([]string, error) {
	all, err := e.list(ctx, "")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if !strings.HasPrefix(p, StagingPrefix) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Targets are the secrets the policy's rules cover, with their metadata.
// only, when set, limits them to one path.
func (e *Engine) Targets(ctx context.Context, only string) ([]*Target, error) {
	e.init()
	var paths []string
	if only != "" {
		paths = []string{strings.Trim(only, "/")}
	} else {
		var err error
		if paths, err = e.Secrets(ctx); err != nil {
			return nil, err
		}
	}
	var targets []*Target
	for _, p := range paths {
		if r := e.Policy.Match(p); r != nil {
			targets = append(targets, &Target{Path: p, Rule: r})
		} else if only != "" {
			return nil, fault.New(fault.Usage, "", only, errors.New("no rule of the rotation policy covers this secret"))
		}
	}
	err := e.parallel(ctx, len(targets), func(i int) error {
		m, err := e.readMeta(ctx, targets[i].Path)
		if err != nil {
			return err
		}
		targets[i].meta = m
		return nil
	})
	return targets, err
}

func (e *Engine) parallel(ctx context.Context, n int, f func(int) error) error {
	e.init()
	sem := make(chan struct{}, e.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return first
}

// Due is one line of vault-rotate due.
type Due struct {
	Path            string    `json:"path"`
	Key             string    `json:"key"`
	Class           string    `json:"class"`
	Period          string    `json:"period"`
	LastRotated     time.Time `json:"last_rotated"`
	DueAt           time.Time `json:"due_at"`
	Overdue         bool      `json:"overdue"`
	SecondsUntilDue int64     `json:"seconds_until_due"`
	InWindow        bool      `json:"in_window"`
}

// Due computes when t is due.
func (e *Engine) Due(t *Target) Due {
	r := t.Rule
	last := t.lastRotated()
	due := r.Schedule.DueAt(last)
	now := e.now()
	return Due{
		Path: t.Path, Key: r.Key, Class: r.Class, Period: r.Schedule.Text,
		LastRotated: last, DueAt: due, Overdue: !due.After(now),
		SecondsUntilDue: int64(due.Sub(now) / time.Second), InWindow: r.Window.Allows(now),
	}
}

// lastRotated is when t's key last rotated: the time vault-rotate recorded,
// else when the current version was written.
func (t *Target) lastRotated() time.Time {
	if s, ok := t.meta.Custom["rotated_at."+t.Rule.Key]; ok {
		if ts, err := time.Parse(time.RFC3339, s); err == nil {
			return ts.UTC()
		}
	}
	return t.meta.Versions[t.meta.Current].Created.UTC()
}

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
