package auditlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/auditlog"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// TestRotationUnderLoad rotates a real Vault's audit log five times while
// several clients make requests: every request id a client got back is in
// exactly one request line and one response line across live and archived
// files.
func TestRotationUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Vault server")
	}
	if os.Getenv("VAULT_FLAVOR") == "openbao" {
		t.Skip("OpenBao refuses to enable audit devices through the API")
	}
	s := vaulttest.Start(t)
	dir := t.TempDir()
	live := filepath.Join(dir, "audit.log")
	arch := filepath.Join(dir, "archive")
	root := s.Client()
	if err := root.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file",
		Options: map[string]string{"file_path": live, "mode": "0600"}}); err != nil {
		t.Fatal(err)
	}

	const clients = 4
	var (
		mu   sync.Mutex
		ids  = map[string]bool{}
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := s.Client()
			for n := 0; n < 5000; n++ { // bounded; stopped after the rotations
				select {
				case <-stop:
					return
				default:
				}
				p := fmt.Sprintf("secret/data/load/c%d", i)
				sec, err := c.Logical().Write(p, map[string]any{"data": map[string]any{"n": n}})
				if err == nil && n%2 == 0 {
					sec, err = c.Logical().Read(p)
				}
				if err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				mu.Lock()
				ids[sec.RequestID] = true
				mu.Unlock()
			}
		}(i)
	}
	ctx := context.Background()
	cfg := auditlog.ArchiveConfig{Logs: []string{live}, ArchiveDir: arch, PID: s.PID(),
		Reopen: func(context.Context) error { return syscall.Kill(s.PID(), syscall.SIGHUP) }}
	rotations := 0
	for rotations < 5 {
		time.Sleep(300 * time.Millisecond)
		rep, err := auditlog.Archive(ctx, cfg)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("rotation %d: %v", rotations+1, err)
		}
		rotations += len(rep.Rotated)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	files, _ := filepath.Glob(filepath.Join(arch, "audit-*.log.zst"))
	if len(files) != 5 {
		t.Fatalf("archives = %v; want 5", files)
	}
	var srcs []auditlog.Source
	for _, f := range auditlog.Order(append(files, live)) {
		srcs = append(srcs, auditlog.FileSource(f))
	}
	m, _ := auditlog.Compile(auditlog.Filter{})
	var (
		seen map[string]int
		res  auditlog.Result
	)
	// Vault may write a response's audit line just after the client has the
	// response: read until every line is there (bounded).
	for try := 0; try < 20; try++ {
		seen = map[string]int{}
		var err error
		res, err = auditlog.Scan(ctx, srcs, m, auditlog.Options{Entries: true}, func(h *auditlog.Hit) error {
			seen[h.Entry.Type+" "+h.Entry.RequestID]++
			return nil
		}, func(p auditlog.Problem) {})
		if err != nil {
			t.Fatal(err)
		}
		complete := true
		for id := range ids {
			if seen["response "+id] == 0 {
				complete = false
			}
		}
		if complete {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.Malformed != 0 {
		t.Errorf("%d malformed lines", res.Malformed)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s appears %d times", k, n)
		}
	}
	for id := range ids {
		if seen["request "+id] != 1 || seen["response "+id] != 1 {
			t.Errorf("request id %s: %d request lines, %d response lines; want 1 and 1", id, seen["request "+id], seen["response "+id])
		}
	}
	if len(ids) < 50 {
		t.Errorf("only %d requests made during the rotations", len(ids))
	}
	t.Logf("%d requests by %d clients, %d lines over 5 archives and the live log", len(ids), clients, res.Lines)
}
