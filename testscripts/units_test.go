package testscripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// TestEveryUnitVerifies runs `systemd-analyze verify` over every unit of
// systemd/, with the binaries they run from /usr/local/bin pointed at one
// that exists here. (host-units runs them for real in a Debian box.)
func TestEveryUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is missing: install Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed")
	}
	root, err := vaulttest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	services, _ := filepath.Glob(filepath.Join(root, "systemd", "*.service"))
	timers, _ := filepath.Glob(filepath.Join(root, "systemd", "*.timer"))
	units := append(services, timers...)
	if len(units) < 2 {
		t.Fatalf("found units %v", units)
	}
	bin := regexp.MustCompile(`/usr/local/bin/[a-z-]+`)
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, bin.ReplaceAll(b, []byte("/bin/true")), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify %v: %v\n%s", paths, err, out)
	}
	// This host has no network-online.target to order after: only a warning.
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.Contains(line, "network-online") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
}
