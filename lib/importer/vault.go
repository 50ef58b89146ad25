package importer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// group is the items stored in one secret (one mount and path).
type group struct {
	mount, path string
	items       []*Item
	state       pathState
}

type pathState struct {
	version int            // current version (0: the path has none)
	data    map[string]any // nil when absent or the current version is deleted
}

func (b *Batch) groups() []*group {
	var out []*group
	index := map[string]*group{}
	for _, it := range b.Items {
		if it.Action == Skip {
			continue
		}
		k := it.Mount + "\x00" + it.Path
		g, ok := index[k]
		if !ok {
			g = &group{mount: it.Mount, path: it.Path, state: b.observed[k]}
			index[k] = g
			out = append(out, g)
		}
		g.items = append(g.items, it)
	}
	return out
}

func concurrency(n int) int {
	if n <= 0 {
		return 32
	}
	return n
}

// Observe reads the current state of every target secret and sets each
// item's Action and Version.
func (b *Batch) Observe(ctx context.Context, c *vaultclient.Client, o Options) error {
	gs := b.groups()
	var mu sync.Mutex
	b.observed = map[string]pathState{}
	absent, err := listAbsent(ctx, c, gs, concurrency(o.Concurrency))
	if err != nil {
		return err
	}
	err = forEach(ctx, concurrency(o.Concurrency), len(gs), func(ctx context.Context, i int) error {
		var st pathState
		if !absent[gs[i]] {
			var err error
			if st, err = readState(ctx, c, gs[i].mount, gs[i].path); err != nil {
				return err
			}
		}
		gs[i].state = st
		mu.Lock()
		b.observed[gs[i].mount+"\x00"+gs[i].path] = st
		mu.Unlock()
		for _, it := range gs[i].items {
			decide(it, st, o.Update)
		}
		return nil
	})
	return err
}

// listAbsent finds, with one LIST per folder, the secrets that do not exist
// yet, so that a first import does not read every path only to learn that.
// Only folders holding several target secrets are listed; a folder the
// token may not list is read path by path instead. Check-and-set still
// guards against a secret created after the listing.
func listAbsent(ctx context.Context, c *vaultclient.Client, gs []*group, par int) (map[*group]bool, error) {
	type folder struct{ mount, dir string }
	var folders []folder
	members := map[folder][]*group{}
	for _, g := range gs {
		dir, _ := splitLast(g.path)
		f := folder{g.mount, dir}
		if _, ok := members[f]; !ok {
			folders = append(folders, f)
		}
		members[f] = append(members[f], g)
	}
	absent := map[*group]bool{}
	var mu sync.Mutex
	err := forEach(ctx, par, len(folders), func(ctx context.Context, i int) error {
		f := folders[i]
		if len(members[f]) < 4 {
			return nil
		}
		keys, err := c.KV(f.mount).List(ctx, f.dir)
		if fault.Is(err, fault.Denied) {
			return nil
		}
		if err != nil {
			return err
		}
		present := map[string]bool{}
		for _, k := range keys {
			present[k] = true
		}
		mu.Lock()
		defer mu.Unlock()
		for _, g := range members[f] {
			if _, leaf := splitLast(g.path); !present[leaf] {
				absent[g] = true
			}
		}
		return nil
	})
	return absent, err
}

func splitLast(p string) (dir, leaf string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

func decide(it *Item, st pathState, update bool) {
	it.Version = st.version
	it.Action, it.Reason = Create, ""
	cur, ok := st.data[it.Field]
	switch {
	case !ok:
	case equal(cur, it.value):
		it.Action = Unchanged
	case update:
		it.Action = Update
	default:
		it.Action, it.Reason = Conflict, "Vault holds another value in this field; plan with --update to replace it"
	}
}

// equal compares in constant time: one of the two is a secret.
func equal(cur any, v string) bool {
	s, ok := cur.(string)
	return ok && len(s) == len(v) && subtle.ConstantTimeCompare([]byte(s), []byte(v)) == 1
}

func readState(ctx context.Context, c *vaultclient.Client, mount, path string) (pathState, error) {
	api := mount + "/data/" + path
	s, err := c.Logical().ReadWithContext(ctx, api)
	if err != nil {
		return pathState{}, c.Classify(err, "reading secret", api)
	}
	if s == nil || s.Data == nil {
		return pathState{}, nil
	}
	var st pathState
	if meta, ok := s.Data["metadata"].(map[string]any); ok {
		st.version = vaultclient.Int(meta["version"])
	}
	if d, ok := s.Data["data"].(map[string]any); ok {
		st.data = d
	}
	return st, nil
}

// ApplyOptions control Apply.
type ApplyOptions struct {
	Concurrency int
	// Rewrite replaces each verified value in its .env file with its
	// reference; Remove drops its line instead. At most one is set.
	Rewrite, Remove bool
	// KeepBackup keeps the 0600 copy of each rewritten file even after the
	// rewritten file was checked.
	KeepBackup bool
}

// Apply writes the planned items (after Observe, and Hold when a plan file
// is carried out), verifies each written secret by reading that version
// back, and then rewrites the files if asked. It returns the report; the
// error is the first failure that stopped the run (no file is rewritten
// then). Conflicts do not stop the run: they are reported per item.
func (b *Batch) Apply(ctx context.Context, c *vaultclient.Client, o ApplyOptions) (*Document, error) {
	gs := b.groups()
	for _, it := range b.Items {
		if it.Action == Skip {
			it.Status = Skipped
		}
	}
	err := forEach(ctx, concurrency(o.Concurrency), len(gs), func(ctx context.Context, i int) error {
		return applyGroup(ctx, c, gs[i])
	})
	for _, it := range b.Items {
		if it.Status == "" {
			it.Status = NotAttempted
		}
	}
	doc := &Document{Format: ReportFormat, Items: b.Items}
	if err == nil {
		for _, it := range b.Items {
			if it.Status == Failed {
				err = fault.New(fault.Server, "", "", fmt.Errorf("reading back %s gave another value than was written", it.Ref))
				break
			}
		}
	}
	if err == nil && (o.Rewrite || o.Remove) {
		doc.Files, err = b.rewrite(ctx, c, o)
	}
	doc.Summary = summaryOf(b.Items)
	return doc, err
}

func applyGroup(ctx context.Context, c *vaultclient.Client, g *group) error {
	data := map[string]any{}
	for k, v := range g.state.data {
		data[k] = v
	}
	var writes []*Item
	for _, it := range g.items {
		switch it.Action {
		case Create, Update:
			data[it.Field] = it.value
			writes = append(writes, it)
		case Conflict:
			it.Status = Conflicted
		}
	}
	kv := c.KV(g.mount)
	version := g.state.version
	if len(writes) > 0 {
		v, err := kv.Put(ctx, g.path, data, g.state.version)
		switch {
		case err == nil:
			version = v
		case fault.Is(err, fault.Conflict):
			// A retried request whose first attempt was committed also
			// lands here: if Vault now holds exactly our values, it is ours.
			st, rerr := readState(ctx, c, g.mount, g.path)
			if rerr != nil {
				return rerr
			}
			if !holds(st, writes) {
				for _, it := range writes {
					it.Status, it.Reason = Conflicted, "changed by another writer since it was read (check-and-set failed)"
				}
				writes = nil
				version = st.version
				break
			}
			version = st.version
		default:
			return err
		}
	}
	for _, it := range writes {
		it.WrittenVersion = version
		if it.Action == Create {
			it.Status = Created
		} else {
			it.Status = Updated
		}
	}
	for _, it := range g.items {
		if it.Action == Unchanged && it.Status == "" {
			it.Status = StatusSame
		}
	}
	if version == 0 {
		return nil
	}
	// Read back the version this run relies on and compare every field.
	s, err := kv.Get(ctx, g.path, version)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	for _, it := range g.items {
		if it.Status != Created && it.Status != Updated && it.Status != StatusSame {
			continue
		}
		switch {
		case s != nil && equal(s.Data[it.Field], it.value):
			it.Verified = true
		case it.Status == StatusSame:
			it.Status, it.Reason = Conflicted, "changed by another writer since it was read"
		default:
			it.Status, it.Reason = Failed, "the value read back differs from the value written"
		}
	}
	return nil
}

func holds(st pathState, items []*Item) bool {
	for _, it := range items {
		if !equal(st.data[it.Field], it.value) {
			return false
		}
	}
	return len(items) > 0
}

// forEach runs f for 0..n-1 with at most par in flight. The first error
// cancels the rest and is returned.
func forEach(parent context.Context, par, n int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for w := 0; w < min(par, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if parent.Err() != nil {
		return fault.New(fault.Unknown, "", "", errors.New("interrupted"))
	}
	return first
}
