package textfile

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestWriteTo(t *testing.T) {
	var s Set
	s.Gauge("vaultpipe_x_last_success_timestamp_seconds", "When it last worked.", 1700000000)
	s.Gauge("vaultpipe_x_seconds_until_due", "Seconds until due.\nNegative: overdue.", -5, "path", `app/"db"`, "key", `a\b`)
	s.Gauge("vaultpipe_x_seconds_until_due", "", 7.5, "key", "k", "path", "p")
	s.Counter("vaultpipe_x_failures_total", "Failures.", 2)
	var b bytes.Buffer
	if _, err := s.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP vaultpipe_x_last_success_timestamp_seconds When it last worked.
# TYPE vaultpipe_x_last_success_timestamp_seconds gauge
vaultpipe_x_last_success_timestamp_seconds 1.7e+09
# HELP vaultpipe_x_seconds_until_due Seconds until due.\nNegative: overdue.
# TYPE vaultpipe_x_seconds_until_due gauge
vaultpipe_x_seconds_until_due{key="a\\b",path="app/\"db\""} -5
vaultpipe_x_seconds_until_due{key="k",path="p"} 7.5
# HELP vaultpipe_x_failures_total Failures.
# TYPE vaultpipe_x_failures_total counter
vaultpipe_x_failures_total 2
`
	if b.String() != want {
		t.Errorf("WriteTo =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteFileAndRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.prom")
	var s Set
	s.Gauge("vaultpipe_x_last_success_timestamp_seconds", "When it last worked.", 1733000000)
	s.Gauge("vaultpipe_x_up", "Up.", 1, "node", "a")
	if err := s.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("Stat = %v, %v; want mode 0644", fi, err)
	}
	if v, ok := Read(path, "vaultpipe_x_last_success_timestamp_seconds"); !ok || v != 1733000000 {
		t.Errorf("Read = %v, %v; want 1733000000, true", v, ok)
	}
	if v, ok := Read(path, "vaultpipe_x_up", "node", "a"); !ok || v != 1 {
		t.Errorf("Read(labels) = %v, %v; want 1, true", v, ok)
	}
	if _, ok := Read(path, "vaultpipe_x_up", "node", "b"); ok {
		t.Error("Read(other labels) found a sample")
	}
	if _, ok := Read(filepath.Join(dir, "none.prom"), "vaultpipe_x_up"); ok {
		t.Error("Read(missing file) found a sample")
	}
	// promtool (Debian's prometheus package) is the reference parser.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	f, _ := os.Open(path)
	defer f.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestInvalidNamesPanic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels []string
	}{{"1abc", nil}, {"a-b", nil}, {"ok", []string{"bad-label", "v"}}, {"ok", []string{"odd"}}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Gauge(%q, %q) did not panic", tc.name, tc.labels)
				}
			}()
			var s Set
			s.Gauge(tc.name, "", 1, tc.labels...)
		}()
	}
}
