package rotation

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Metrics is what one run tells node_exporter's textfile collector.
type Metrics struct {
	Due         []Due
	Results     []Result
	RunAt       time.Time
	LastSuccess time.Time // carried over from the previous file when this run failed
}

// LastSuccess reads vault_rotate_last_success_timestamp_seconds from an
// earlier metrics file (zero when there is none).
func LastSuccess(file string) time.Time {
	f, err := os.Open(file)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "vault_rotate_last_success_timestamp_seconds "); ok {
			if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return time.Unix(int64(n), 0).UTC()
			}
		}
	}
	return time.Time{}
}

// WriteFile replaces file atomically (0644: metrics hold no values).
func (m *Metrics) WriteFile(file string) error {
	return safefile.WriteFunc(file, 0o644, m.Write)
}

func label(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// Write writes m in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) error {
	var b strings.Builder
	failures := 0
	perSecret := map[string]int{}
	for _, r := range m.Results {
		k := r.Path + "#" + r.Key
		if r.Action == "failed" || r.Action == "rolled_back" {
			failures++
			perSecret[k] = 1
		} else {
			perSecret[k] += 0
		}
	}
	due := append([]Due(nil), m.Due...)
	sort.Slice(due, func(i, j int) bool { return due[i].Path+due[i].Key < due[j].Path+due[j].Key })
	b.WriteString("# HELP vault_rotate_seconds_until_due Seconds until the secret is due for rotation (negative: overdue).\n")
	b.WriteString("# TYPE vault_rotate_seconds_until_due gauge\n")
	for _, d := range due {
		fmt.Fprintf(&b, "vault_rotate_seconds_until_due{path=\"%s\",key=\"%s\",class=\"%s\"} %d\n", label(d.Path), label(d.Key), label(d.Class), d.SecondsUntilDue)
	}
	b.WriteString("# HELP vault_rotate_failed Whether the last run failed to rotate the secret (1) or not (0).\n")
	b.WriteString("# TYPE vault_rotate_failed gauge\n")
	keys := make([]string, 0, len(perSecret))
	for k := range perSecret {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, key, _ := strings.Cut(k, "#")
		fmt.Fprintf(&b, "vault_rotate_failed{path=\"%s\",key=\"%s\"} %d\n", label(p), label(key), perSecret[k])
	}
	rotated := 0
	for _, r := range m.Results {
		if r.Action == "rotated" || r.Action == "resumed" {
			rotated++
		}
	}
	b.WriteString("# HELP vault_rotate_last_run_failures Rotations that failed in the last run.\n# TYPE vault_rotate_last_run_failures gauge\n")
	fmt.Fprintf(&b, "vault_rotate_last_run_failures %d\n", failures)
	b.WriteString("# HELP vault_rotate_last_run_rotations Rotations completed in the last run.\n# TYPE vault_rotate_last_run_rotations gauge\n")
	fmt.Fprintf(&b, "vault_rotate_last_run_rotations %d\n", rotated)
	b.WriteString("# HELP vault_rotate_last_run_timestamp_seconds When the last run ended.\n# TYPE vault_rotate_last_run_timestamp_seconds gauge\n")
	fmt.Fprintf(&b, "vault_rotate_last_run_timestamp_seconds %d\n", m.RunAt.Unix())
	last := m.LastSuccess
	if failures == 0 {
		last = m.RunAt
	}
	if !last.IsZero() {
		b.WriteString("# HELP vault_rotate_last_success_timestamp_seconds When a run last ended without a failed rotation.\n# TYPE vault_rotate_last_success_timestamp_seconds gauge\n")
		fmt.Fprintf(&b, "vault_rotate_last_success_timestamp_seconds %d\n", last.Unix())
	}
	_, err := io.WriteString(w, b.String())
	return err
}
