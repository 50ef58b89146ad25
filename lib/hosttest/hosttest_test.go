package hosttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMirrorFromSources(t *testing.T) {
	dir := t.TempDir()
	deb822 := filepath.Join(dir, "debian.sources")
	os.WriteFile(deb822, []byte("Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"+
		"Types: deb\n# comment: http://no.example\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"), 0o644)
	if got, want := mirrorFromDeb822(deb822), "http://mirror.example/debian"; got != want {
		t.Errorf("mirrorFromDeb822 = %q; want %q", got, want)
	}
	list := filepath.Join(dir, "sources.list")
	os.WriteFile(list, []byte("# deb http://no.example bookworm main\ndeb [signed-by=/k.gpg arch=amd64] http://list.example/debian bookworm main\n"), 0o644)
	if got, want := mirrorFromList(list), "http://list.example/debian"; got != want {
		t.Errorf("mirrorFromList = %q; want %q", got, want)
	}
}

// TestBox boots a box, runs commands as root and as a user with stdin,
// reads files and the journal, reboots it on the same disk and checks that
// closing it leaves nothing behind.
func TestBox(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip("no box:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	src := filepath.Join(t.TempDir(), "hello")
	os.WriteFile(src, []byte("hello from the host\n"), 0o644)
	b, err := Start(ctx, Config{Name: UniqueName("vp-test"), Copy: map[string]string{src: "/opt/vaultpipe/hello"}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Log(b.Journal(ctx, 200))
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		if left := b.Leftovers(); len(left) > 0 {
			t.Errorf("Close left behind:\n%s", strings.Join(left, "\n"))
		}
	}()

	if left := b.Leftovers(); len(left) == 0 || !strings.HasPrefix(left[0], "process ") {
		t.Errorf("Leftovers of a running box = %q; want its systemd-nspawn process", left)
	}
	if got, err := b.ReadFile(ctx, "/opt/vaultpipe/hello"); err != nil || string(got) != "hello from the host\n" {
		t.Errorf("ReadFile(copied file) = %q, %v", got, err)
	}
	// Only loopback inside.
	out, err := b.Output(ctx, "", "ip", "-o", "link")
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "lo:") {
		t.Errorf("ip -o link = %q, %v; want only lo", out, err)
	}
	if out, err := b.Output(ctx, "", "hostname"); err != nil || strings.TrimSpace(out) != b.Name() {
		t.Errorf("hostname = %q, %v; want %q", out, err, b.Name())
	}
	var stdout strings.Builder
	err = b.Exec(ctx, Cmd{User: "nobody", Args: []string{"sh", "-c", "id -un; cat"}, Stdin: strings.NewReader("piped\n"), Stdout: &stdout})
	if err != nil || stdout.String() != "nobody\npiped\n" {
		t.Errorf("Exec as nobody = %q, %v", stdout.String(), err)
	}
	var ee *ExitError
	if err := b.Exec(ctx, Cmd{Args: []string{"sh", "-c", "exit 7"}}); !errors.As(err, &ee) || ee.Code != 7 {
		t.Errorf("Exec(exit 7) = %v; want exit status 7", err)
	}
	if env, _ := b.Output(ctx, "", "env"); strings.Contains(env, "GOPATH") || !strings.Contains(env, "PATH="+Path) {
		t.Errorf("environment in the box:\n%s", env)
	}
	if _, err := b.Output(ctx, "", "sh", "-c", "echo persisted >/var/lib/marker; echo gone >/run/marker; logger -t vp-test journal-line"); err != nil {
		t.Fatal(err)
	}
	// logger hands the line to journald through a datagram socket, which
	// journald reads on its own time (right after boot, while it flushes
	// to /var/log/journal, that can be a while): wait for it.
	var j string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if j = b.Journal(ctx, 1000); strings.Contains(j, "journal-line") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(j, "journal-line") {
		t.Errorf("journal lacks the logged line after 20s:\n%s", j)
	}

	start := time.Now()
	if err := b.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot took %s", time.Since(start).Round(time.Millisecond))
	if got, err := b.ReadFile(ctx, "/var/lib/marker"); err != nil || string(got) != "persisted\n" {
		t.Errorf("after reboot, /var/lib/marker = %q, %v; want it kept", got, err)
	}
	if _, err := b.ReadFile(ctx, "/run/marker"); err == nil {
		t.Errorf("after reboot, /run/marker still exists; want a fresh tmpfs")
	}
	if out, _ := b.Output(ctx, "", "systemctl", "is-system-running"); strings.TrimSpace(out) != "running" {
		t.Errorf("after reboot, is-system-running = %q", out)
	}
}

// TestNet puts two boxes in one network namespace of the test's: they share
// its loopback (and nothing else), each under its own 127.0.0.x name.
func TestNet(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip("no box:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := NewNet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var boxes []*Box
	defer func() {
		for _, b := range boxes {
			b.Close()
		}
		if err := n.Close(); err != nil {
			t.Error(err)
		}
		if left := leftovers(n.Name); len(left) > 0 {
			t.Errorf("left behind:\n%s", strings.Join(left, "\n"))
		}
	}()
	var ns []string
	for i, name := range []string{"vp-a", "vp-b"} {
		b, err := Start(ctx, Config{Name: UniqueName(name), Net: n, Addr: fmt.Sprintf("127.0.0.%d", i+2), Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		boxes = append(boxes, b)
		out, err := b.Output(ctx, "", "sh", "-c", "readlink /proc/self/ns/net; ip -o link | wc -l; getent hosts $(hostname)")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || lines[1] != "1" || !strings.HasPrefix(lines[2], fmt.Sprintf("127.0.0.%d ", i+2)) {
			t.Errorf("box %s: netns, links, own address = %q; want one link (lo) and 127.0.0.%d", b.Name(), lines, i+2)
		}
		ns = append(ns, lines[0])
	}
	if ns[0] != ns[1] {
		t.Errorf("boxes are in network namespaces %s and %s; want one", ns[0], ns[1])
	}
	if self, _ := os.Readlink("/proc/self/ns/net"); self == ns[0] {
		t.Errorf("boxes are in the host's network namespace")
	}
}
