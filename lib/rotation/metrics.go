package rotation

import (
	"io"
	"sort"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/textfile"
)

// Metrics is what one run tells node_exporter's textfile collector, as
// vaultpipe_rotate_* metrics written through lib/textfile.
type Metrics struct {
	Due         []Due
	Results     []Result
	RunAt       time.Time
	LastSuccess time.Time // carried over from the previous file when this run failed
}

// Metric names.
const (
	metricUntilDue    = "vaultpipe_rotate_seconds_until_due"
	metricFailed      = "vaultpipe_rotate_failed"
	metricRunFailures = "vaultpipe_rotate_last_run_failures"
	metricRotations   = "vaultpipe_rotate_last_run_rotations"
	metricLastRun     = "vaultpipe_rotate_last_run_timestamp_seconds"
	metricLastSuccess = "vaultpipe_rotate_last_success_timestamp_seconds"
)

// LastSuccess reads the last success time from an earlier metrics file
// (zero when there is none).
func LastSuccess(file string) time.Time {
	if v, ok := textfile.Read(file, metricLastSuccess); ok {
		return time.Unix(int64(v), 0).UTC()
	}
	return time.Time{}
}

func (m *Metrics) set() *textfile.Set {
	var s textfile.Set
	due := append([]Due(nil), m.Due...)
	sort.Slice(due, func(i, j int) bool { return due[i].Path+"#"+due[i].Key < due[j].Path+"#"+due[j].Key })
	for _, d := range due {
		s.Gauge(metricUntilDue, "Seconds until the secret is due for rotation (negative: overdue).", float64(d.SecondsUntilDue),
			"path", d.Path, "key", d.Key, "class", d.Class)
	}
	failed := map[string]bool{}
	var keys []string
	failures, rotated := 0, 0
	for _, r := range m.Results {
		k := r.Path + "#" + r.Key
		if _, seen := failed[k]; !seen {
			keys = append(keys, k)
		}
		bad := r.Action == "failed" || r.Action == "rolled_back"
		failed[k] = failed[k] || bad
		if bad {
			failures++
		}
		if r.Action == "rotated" || r.Action == "resumed" {
			rotated++
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var path, key string
		for i := len(k) - 1; i >= 0; i-- {
			if k[i] == '#' {
				path, key = k[:i], k[i+1:]
				break
			}
		}
		s.Gauge(metricFailed, "Whether the last run failed to rotate the secret.", textfile.Bool(failed[k]), "path", path, "key", key)
	}
	s.Gauge(metricRunFailures, "Rotations that failed in the last run.", float64(failures))
	s.Gauge(metricRotations, "Rotations completed in the last run.", float64(rotated))
	s.Gauge(metricLastRun, "When the last run ended.", float64(m.RunAt.Unix()))
	last := m.LastSuccess
	if failures == 0 {
		last = m.RunAt
	}
	if !last.IsZero() {
		s.Gauge(metricLastSuccess, "When a run last ended without a failed rotation.", float64(last.Unix()))
	}
	return &s
}

// WriteFile replaces file atomically.
func (m *Metrics) WriteFile(file string) error { return m.set().WriteFile(file) }

// Write writes m in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) error {
	_, err := m.set().WriteTo(w)
	return err
}
