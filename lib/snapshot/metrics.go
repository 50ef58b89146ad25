package snapshot

import (
	"path/filepath"
	"sort"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/textfile"
)

// Metrics file names for node_exporter's textfile collector, one per job
// so that no job rewrites another's numbers (the old --metrics-dir DIR
// wrote DIR/NAME).
const (
	SaveMetricsFile  = "vault-snap.prom"
	DrillMetricsFile = "vault-snap-drill.prom"
)

// WriteSaveMetrics writes the state of snapshot directory dir after a save
// (ok says whether this run succeeded): the newest snapshot's time, age,
// size and raft index, the number kept, and when the last run ended.
func WriteSaveMetrics(file, dir string, ok bool, now time.Time) error {
	entries, _, err := Scan(dir)
	if err != nil {
		return err
	}
	var s textfile.Set
	s.Gauge("vaultpipe_snap_last_run_timestamp_seconds", "When vault-snap save last ran.", float64(now.Unix()))
	s.Gauge("vaultpipe_snap_last_run_success", "1 if the last vault-snap save succeeded.", textfile.Bool(ok))
	s.Gauge("vaultpipe_snap_snapshots", "Snapshots with a vault-snap manifest in the directory.", float64(len(entries)))
	if len(entries) > 0 {
		sort.Slice(entries, func(i, j int) bool { return entries[i].CreatedAt.After(entries[j].CreatedAt) })
		if m, err := ReadManifest(filepath.Join(dir, entries[0].File+ManifestExt)); err == nil {
			s.Gauge("vaultpipe_snap_last_success_timestamp_seconds", "Creation time of the newest snapshot.", float64(m.CreatedAt.Unix()))
			s.Gauge("vaultpipe_snap_last_age_seconds", "Age of the newest snapshot when this file was written (alert on time() - vaultpipe_snap_last_success_timestamp_seconds).", now.Sub(m.CreatedAt).Seconds())
			s.Gauge("vaultpipe_snap_last_size_bytes", "Size of the newest snapshot.", float64(m.Size))
			s.Gauge("vaultpipe_snap_last_raft_index", "Raft index of the newest snapshot.", float64(m.RaftIndex))
		}
	}
	return s.WriteFile(file)
}

// WriteDrillMetrics writes the last drill's result, and carries the time
// of the last successful drill across failed ones.
func WriteDrillMetrics(path string, rep *DrillReport, now time.Time) error {
	const lastOK = "vaultpipe_snap_drill_last_success_timestamp_seconds"
	okAt, had := textfile.Read(path, lastOK)
	if rep.OK {
		okAt, had = float64(now.Unix()), true
	}
	var s textfile.Set
	s.Gauge("vaultpipe_snap_drill_last_run_timestamp_seconds", "When vault-snap drill last ran.", float64(now.Unix()))
	s.Gauge("vaultpipe_snap_drill_last_success", "1 if the last drill restored, unsealed and checked the snapshot.", textfile.Bool(rep.OK))
	s.Gauge("vaultpipe_snap_drill_last_duration_seconds", "How long the last drill took.", rep.DurationSeconds)
	s.Gauge("vaultpipe_snap_drill_last_raft_index", "Raft index of the snapshot the last drill restored.", float64(rep.RaftIndex))
	if had {
		s.Gauge(lastOK, "When a drill last succeeded.", okAt)
	}
	return s.WriteFile(path)
}
