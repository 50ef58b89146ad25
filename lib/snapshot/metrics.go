package snapshot

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Metrics files for node_exporter's textfile collector, one per job so
// that no job rewrites another's numbers. Each is replaced atomically.
const (
	SaveMetricsFile  = "vault_snap.prom"
	DrillMetricsFile = "vault_snap_drill.prom"
)

// WriteSaveMetrics writes the state of snapshot directory dir after a save
// (ok says whether this run succeeded): the newest snapshot's time, age,
// size and raft index, the number kept, and when the last run ended.
func WriteSaveMetrics(metricsDir, dir string, ok bool, now time.Time) error {
	entries, _, err := Scan(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	gauge("vault_snap_last_run_timestamp_seconds", "When vault-snap save last ran.", float64(now.Unix()))
	gauge("vault_snap_last_run_success", "1 if the last vault-snap save run succeeded.", b2f(ok))
	gauge("vault_snap_snapshots", "Snapshots with a vault-snap manifest in the directory.", float64(len(entries)))
	if len(entries) > 0 {
		sort.Slice(entries, func(i, j int) bool { return entries[i].CreatedAt.After(entries[j].CreatedAt) })
		newest := entries[0]
		m, err := ReadManifest(filepath.Join(dir, newest.File+ManifestExt))
		if err == nil {
			gauge("vault_snap_last_success_timestamp_seconds", "Creation time of the newest snapshot.", float64(m.CreatedAt.Unix()))
			gauge("vault_snap_last_age_seconds", "Age of the newest snapshot when this file was written (alert on time() - vault_snap_last_success_timestamp_seconds).", now.Sub(m.CreatedAt).Seconds())
			gauge("vault_snap_last_size_bytes", "Size of the newest snapshot.", float64(m.Size))
			gauge("vault_snap_last_raft_index", "Raft index of the newest snapshot.", float64(m.RaftIndex))
		}
	}
	return safefile.Write(filepath.Join(metricsDir, SaveMetricsFile), b.Bytes(), 0o644)
}

// WriteDrillMetrics writes the last drill's result.
func WriteDrillMetrics(metricsDir string, rep *DrillReport, now time.Time) error {
	var b bytes.Buffer
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	gauge("vault_snap_drill_last_run_timestamp_seconds", "When vault-snap drill last ran.", float64(now.Unix()))
	gauge("vault_snap_drill_last_success", "1 if the last drill restored, unsealed and checked the snapshot.", b2f(rep.OK))
	gauge("vault_snap_drill_last_duration_seconds", "How long the last drill took.", rep.DurationSeconds)
	gauge("vault_snap_drill_last_raft_index", "Raft index of the snapshot the last drill restored.", float64(rep.RaftIndex))
	return safefile.Write(filepath.Join(metricsDir, DrillMetricsFile), b.Bytes(), 0o644)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
