package snapshot_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnitsPassSystemdAnalyzeVerify checks systemd/vault-snap*.{service,timer}
// with the binaries they name pointed at one that exists.
func TestUnitsPassSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is missing: install Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed")
	}
	services, _ := filepath.Glob("../../systemd/vault-snap*.service")
	timers, _ := filepath.Glob("../../systemd/vault-snap*.timer")
	units := append(services, timers...)
	if len(units) != 4 {
		t.Fatalf("found units %v; want vault-snap and vault-snap-drill, .service and .timer", units)
	}
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer("/usr/local/bin/vault-snap", "/bin/true", "/usr/local/bin/vault", "/bin/true").Replace(string(b))
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	// Units this host does not have (vault.service) are only warnings.
	if err != nil {
		t.Fatalf("systemd-analyze verify %v: %v\n%s", paths, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.Contains(line, "vault.service") && !strings.Contains(line, "network-online") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
}
