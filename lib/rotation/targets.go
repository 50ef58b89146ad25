package rotation

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

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
	m.Current = vaultclient.Int(s.Data["current_version"])
	m.Oldest = vaultclient.Int(s.Data["oldest_version"])
	m.MaxVersions = vaultclient.Int(s.Data["max_versions"])
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
