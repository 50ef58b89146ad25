package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// Policy is a retention policy. A snapshot is kept when any rule keeps it:
// Last keeps the Last newest; Daily, Weekly and Monthly keep the newest
// snapshot of each of the Daily most recent days (Weekly ISO weeks,
// Monthly months, in UTC) that have one. The newest verified snapshot is
// always kept, whatever the rules.
type Policy struct {
	Last    int `json:"keep_last"`
	Daily   int `json:"keep_daily"`
	Weekly  int `json:"keep_weekly"`
	Monthly int `json:"keep_monthly"`
}

// DefaultPolicy keeps 7 daily, 4 weekly and 12 monthly snapshots: at most
// 23 files, reaching a year back.
var DefaultPolicy = Policy{Last: 0, Daily: 7, Weekly: 4, Monthly: 12}

// Entry is a snapshot prune knows about: one with a manifest vault-snap
// wrote.
type Entry struct {
	File      string    `json:"file"`
	CreatedAt time.Time `json:"created_at"`
	Verified  bool      `json:"verified"`
}

// Decision says what prune does with one entry, and why.
type Decision struct {
	Entry
	Keep    bool     `json:"keep"`
	Reasons []string `json:"reasons,omitempty"`
}

// Plan applies p to entries (any order) and returns a decision per entry,
// newest first. It is pure: the same input gives the same answer.
func Plan(entries []Entry, p Policy) []Decision {
	ds := make([]Decision, len(entries))
	for i, e := range entries {
		ds[i] = Decision{Entry: e}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].CreatedAt.Equal(ds[j].CreatedAt) {
			return ds[i].CreatedAt.After(ds[j].CreatedAt)
		}
		return ds[i].File > ds[j].File
	})
	keep := func(i int, why string) {
		ds[i].Keep = true
		ds[i].Reasons = append(ds[i].Reasons, why)
	}
	for i := 0; i < len(ds) && i < p.Last; i++ {
		keep(i, "last")
	}
	classes := []struct {
		name string
		n    int
		key  func(time.Time) string
	}{
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
	}
	for _, c := range classes {
		seen := map[string]bool{}
		for i := range ds {
			if len(seen) >= c.n {
				break
			}
			k := c.key(ds[i].CreatedAt.UTC())
			if seen[k] {
				continue
			}
			seen[k] = true
			keep(i, c.name+" "+k)
		}
	}
	for i := range ds {
		if ds[i].Verified {
			keep(i, "newest verified")
			break
		}
	}
	return ds
}

// PruneReport is prune's JSON report.
type PruneReport struct {
	Dir       string     `json:"dir"`
	DryRun    bool       `json:"dry_run"`
	Policy    Policy     `json:"policy"`
	Decisions []Decision `json:"decisions"`
	Deleted   []string   `json:"deleted"`
	Ignored   []string   `json:"ignored"`
}

// Scan lists the snapshots of dir that have a manifest vault-snap wrote.
// Files it cannot vouch for (no manifest, or a manifest of another format)
// are returned as ignored and never deleted.
func Scan(dir string) ([]Entry, []string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var entries []Entry
	vouched := map[string]bool{}
	for _, de := range des {
		n := de.Name()
		if !strings.HasSuffix(n, Ext+ManifestExt) || !de.Type().IsRegular() {
			continue
		}
		m, err := ReadManifest(filepath.Join(dir, n))
		if err != nil || m.File+ManifestExt != n {
			continue
		}
		vouched[n], vouched[m.File] = true, true
		if m.Age != nil {
			vouched[m.Age.File] = true
		}
		entries = append(entries, Entry{File: m.File, CreatedAt: m.CreatedAt, Verified: m.Verified != nil})
	}
	var ignored []string
	for _, de := range des {
		n := de.Name()
		if !vouched[n] && (strings.HasSuffix(n, Ext) || strings.Contains(n, Ext+".")) {
			ignored = append(ignored, n)
		}
	}
	return entries, ignored, nil
}

// Prune applies p to dir: it deletes each snapshot Plan does not keep —
// its age copy and the file first, its manifest last. With dryRun it only
// reports.
func Prune(dir string, p Policy, dryRun bool) (*PruneReport, error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	entries, ignored, err := Scan(dir)
	if err != nil {
		return nil, err
	}
	rep := &PruneReport{Dir: dir, DryRun: dryRun, Policy: p, Decisions: Plan(entries, p), Deleted: []string{}, Ignored: ignored}
	if rep.Ignored == nil {
		rep.Ignored = []string{}
	}
	if dryRun {
		return rep, nil
	}
	var errs []error
	for _, d := range rep.Decisions {
		if d.Keep {
			continue
		}
		base := filepath.Join(dir, d.File)
		for _, f := range []string{base + AgeExt, base, base + ManifestExt} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		rep.Deleted = append(rep.Deleted, d.File)
	}
	if len(errs) == 0 {
		if err := syncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// Resolve gives the snapshot file a path names: the path itself, or for a
// directory its newest snapshot with a manifest (the age copy when only it
// is there).
func Resolve(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fault.New(fault.Usage, "opening", path, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return path, nil
	}
	entries, _, err := Scan(path)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", fault.New(fault.BadInput, "", path, errors.New("no snapshot with a vault-snap manifest here"))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].CreatedAt.After(entries[j].CreatedAt) })
	p := filepath.Join(path, entries[0].File)
	if _, err := os.Stat(p); err != nil {
		if _, aerr := os.Stat(p + AgeExt); aerr == nil {
			return p + AgeExt, nil // only the age copy is here
		}
	}
	return p, nil
}
