package rotation

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The shipped units pass systemd-analyze verify (with the binary path
// pointed at a stand-in), run daily with a random delay and catch up after
// downtime, and take the AppRole credential through LoadCredential=.
func TestSystemdUnits(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	svc, timer := read("vault-rotate.service"), read("vault-rotate.timer")
	for _, want := range []string{"OnCalendar=daily\n", "RandomizedDelaySec=", "Persistent=true\n"} {
		if !strings.Contains(timer, want) {
			t.Errorf("vault-rotate.timer lacks %q", want)
		}
	}
	for _, want := range []string{"LoadCredential=role_id:", "LoadCredential=secret_id:", "--role-id-file %d/role_id", "--secret-id-file %d/secret_id", "--metrics-file ", "Type=oneshot\n"} {
		if !strings.Contains(svc, want) {
			t.Errorf("vault-rotate.service lacks %q", want)
		}
	}
	if strings.Contains(svc, "VAULT_TOKEN") {
		t.Error("vault-rotate.service puts a token in the environment")
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: install Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "vault-rotate")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vault-rotate.service"), []byte(strings.ReplaceAll(svc, "/usr/local/bin/vault-rotate", stub)), 0o644)
	os.WriteFile(filepath.Join(dir, "vault-rotate.timer"), []byte(timer), 0o644)
	// The unit takes its credential from the broker's unit, which verify
	// loads too.
	brokerStub := filepath.Join(dir, "vault-broker")
	if err := os.WriteFile(brokerStub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vault-broker@.service"), []byte(strings.ReplaceAll(read("vault-broker@.service"), "/usr/local/bin/vault-broker", brokerStub)), 0o644)
	cmd := exec.Command(sa, "verify", "vault-rotate.service", "vault-rotate.timer")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
