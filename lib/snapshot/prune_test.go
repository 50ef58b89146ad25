package snapshot_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/snapshot"
	"github.com/vaultpipe/vaultpipe/lib/snapshot/snapshottest"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s+" 03:00")
	if err != nil {
		panic(err)
	}
	return t
}

// A year of dailies: 2026-01-01 … 2026-12-31 at 03:00 UTC.
func yearOfDailies(verified func(time.Time) bool) []snapshot.Entry {
	var es []snapshot.Entry
	for d := day("2026-01-01"); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		es = append(es, snapshot.Entry{File: "vault-" + d.Format("20060102T150405Z") + ".snap", CreatedAt: d, Verified: verified(d)})
	}
	return es
}

func kept(ds []snapshot.Decision) []string {
	var out []string
	for _, d := range ds {
		if d.Keep {
			out = append(out, d.CreatedAt.Format("01-02"))
		}
	}
	sort.Strings(out)
	return out
}

func TestPlanYearOfDailies(t *testing.T) {
	// Daily: Dec 25–31. Weekly (ISO): W53 → Dec 31, W52 → Dec 27, W51 → Dec 20,
	// W50 → Dec 13. Monthly: the last day of each month.
	base := []string{"01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31", "11-30",
		"12-13", "12-20", "12-25", "12-26", "12-27", "12-28", "12-29", "12-30", "12-31"}
	all := func(time.Time) bool { return true }
	for _, tc := range []struct {
		name     string
		policy   snapshot.Policy
		verified func(time.Time) bool
		want     []string
	}{
		{"default policy", snapshot.DefaultPolicy, all, base},
		{"only an old one verified", snapshot.DefaultPolicy, func(t time.Time) bool { return t.Equal(day("2026-03-15")) },
			append([]string{"03-15"}, base...)},
		{"none verified", snapshot.DefaultPolicy, func(time.Time) bool { return false }, base},
		{"keep last 3 only", snapshot.Policy{Last: 3}, all, []string{"12-29", "12-30", "12-31"}},
		{"daily 2 weekly 0 monthly 2", snapshot.Policy{Daily: 2, Monthly: 2}, all, []string{"11-30", "12-30", "12-31"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := kept(snapshot.Plan(yearOfDailies(tc.verified), tc.policy))
			sort.Strings(tc.want)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("Plan(year, %+v) keeps\n  %v\nwant\n  %v", tc.policy, got, tc.want)
			}
		})
	}
}

func TestPlanNeverDropsNewestVerified(t *testing.T) {
	es := []snapshot.Entry{
		{File: "a.snap", CreatedAt: day("2026-06-01"), Verified: true},
		{File: "b.snap", CreatedAt: day("2026-06-01").Add(time.Hour)},
		{File: "c.snap", CreatedAt: day("2026-06-01").Add(2 * time.Hour)},
	}
	got := snapshot.Plan(es, snapshot.Policy{Last: 1})
	if !got[0].Keep || got[1].Keep || !got[2].Keep || got[2].File != "a.snap" {
		t.Fatalf("Plan = %+v; want c (last) and a (newest verified) kept, b deleted", got)
	}
}

// TestPruneDailyForAYear saves a snapshot every simulated day for a year
// into a real directory and prunes after each one, as the timer does; the
// directory ends with exactly the one-shot plan's set, and files vault-snap
// did not write are never touched.
func TestPruneDailyForAYear(t *testing.T) {
	dir := t.TempDir()
	data := snapshottest.Bytes(1<<10, 9)
	foreign := []string{"vault-20250101T030000Z.snap", "other.snap", "notes.txt"}
	for _, f := range foreign {
		os.WriteFile(filepath.Join(dir, f), []byte("not ours"), 0o600)
	}
	// A manifest another tool wrote: its file is not vault-snap's to delete.
	os.WriteFile(filepath.Join(dir, "x.snap"), []byte("x"), 0o600)
	b, _ := json.Marshal(map[string]any{"format": "other/1", "file": "x.snap"})
	os.WriteFile(filepath.Join(dir, "x.snap.json"), b, 0o600)
	foreign = append(foreign, "x.snap", "x.snap.json")

	for d := day("2026-01-01"); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		p := writeSnapshot(t, dir, "vault-"+d.Format("20060102T150405Z")+".snap", data, d)
		if err := snapshot.MarkVerified(snapshot.ManifestPath(p), d.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := snapshot.Prune(dir, snapshot.DefaultPolicy, false); err != nil {
			t.Fatalf("Prune on %s: %v", d.Format("2006-01-02"), err)
		}
	}
	want := kept(snapshot.Plan(yearOfDailies(func(time.Time) bool { return true }), snapshot.DefaultPolicy))
	entries, ignored, err := snapshot.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.CreatedAt.Format("01-02"))
		if _, err := os.Stat(filepath.Join(dir, e.File)); err != nil {
			t.Errorf("manifest of %s kept without its file", e.File)
		}
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after a year of daily prunes the directory holds\n  %v\nwant\n  %v", got, want)
	}
	for _, f := range foreign {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("prune removed %s, which vault-snap did not write", f)
		}
	}
	sort.Strings(ignored)
	if strings.Join(ignored, " ") != "other.snap vault-20250101T030000Z.snap x.snap x.snap.json" {
		t.Errorf("Scan ignored = %v", ignored)
	}

	// A dry run reports and deletes nothing.
	writeSnapshot(t, dir, "vault-20270101T030000Z.snap", data, day("2027-01-01"))
	before, _, _ := snapshot.Scan(dir)
	rep, err := snapshot.Prune(dir, snapshot.Policy{Last: 1}, true)
	if err != nil || len(rep.Deleted) != 0 {
		t.Fatalf("Prune(dry run) = %+v, %v", rep, err)
	}
	after, _, _ := snapshot.Scan(dir)
	if len(after) != len(before) {
		t.Fatalf("a dry run deleted %d snapshots", len(before)-len(after))
	}
}
