package localvault_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/localvault"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s := launch(t, localvault.Options{Name: "lvtest"})

	cfg, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := vaultconfig.ParseTransit(cfg, s.Config); err != nil || ts != nil {
		t.Fatalf("ParseTransit(vault.hcl) = %v, %v; want no seal stanza", ts, err)
	}
	if !regexp.MustCompile(`node_id += "lvtest-\d+"`).Match(cfg) {
		t.Fatalf("vault.hcl lacks node id lvtest-PORT:\n%s", cfg)
	}

	init, err := s.Init(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if used, err := s.Unseal(ctx, init.KeysB64); err != nil || used != 1 {
		t.Fatalf("Unseal(1 of 1) = %d, %v; want 1, nil", used, err)
	}

	// A restart keeps ports and data and comes up sealed.
	addr, pid := s.Addr, s.PID()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr || s.PID() == pid {
		t.Fatalf("Restart: address %s, pid %d; want %s and a new process", s.Addr, s.PID(), addr)
	}
	if _, err := s.Unseal(ctx, nil); fault.KindOf(err) != fault.Sealed {
		t.Fatalf("Unseal(no shares) after a restart = %v; want kind sealed", err)
	}
	unsealAndRead(t, s, init.KeysB64, init.RootToken)

	pid = s.PID()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", s.Dir, err)
	}
	if s.Running() || syscall.Kill(pid, 0) == nil {
		t.Errorf("Close left process %d running", pid)
	}
}

func TestNewRefusesUnknownListener(t *testing.T) {
	if _, err := localvault.New(localvault.Options{Binary: "vault", TempDir: t.TempDir(), Listener: localvault.Unix + 1}); err == nil {
		t.Fatal("New(an unknown listener) = nil error")
	}
}

// A Unix-listener server answers on its socket only: it runs in a network
// namespace of its own, and restarts there.
func TestUnixListener(t *testing.T) {
	ctx := context.Background()
	s := launch(t, localvault.Options{Name: "lvunix", Listener: localvault.Unix})
	if !strings.HasPrefix(s.Addr, "unix://") {
		t.Fatalf("Addr = %s; want unix://…", s.Addr)
	}
	self, _ := os.Readlink("/proc/self/ns/net")
	if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", s.PID())); err != nil || ns == self {
		t.Fatalf("server network namespace = %q, %v; want one of its own (ours is %q)", ns, err, self)
	}
	init, err := s.Init(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unseal(ctx, init.KeysB64); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	unsealAndRead(t, s, init.KeysB64, init.RootToken)
}

// launch starts a server of o with the tests' Vault binary, closed at the
// end of the test.
func launch(t *testing.T, o localvault.Options) *localvault.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real Vault server")
	}
	bin, err := vaulttest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	o.Binary, o.TempDir = bin, t.TempDir()
	s, err := localvault.Launch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// unsealAndRead unseals s and reads sys/mounts with token through s.Addr.
func unsealAndRead(t *testing.T, s *localvault.Server, keys []string, token string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Unseal(ctx, keys); err != nil {
		t.Fatal(err)
	}
	c, err := s.Client(token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, "sys/mounts"); err != nil {
		t.Fatalf("reading sys/mounts at %s with the root token: %v", s.Addr, err)
	}
}
