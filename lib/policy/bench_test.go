package policy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// BenchmarkSyncConverged is a sync on a server that already matches: the
// run every deploy makes. Compare with BenchmarkShellLoop, the script it
// replaces.
func BenchmarkSyncConverged(b *testing.B) {
	s := server(b)
	c := rootClient(b, s)
	set := shipped(b)
	ctx := context.Background()
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Sync(ctx, c, set, SyncOptions{})
		if err != nil || rep.Applied != 0 {
			b.Fatalf("Sync = %v, applied %d", err, rep.Applied)
		}
	}
}

// BenchmarkShellLoop writes the same policies and AppRoles with the vault
// CLI, one process per object, as a hand-written bootstrap script would.
func BenchmarkShellLoop(b *testing.B) {
	s := server(b)
	set := shipped(b)
	bin, err := vaulttest.Binary()
	if err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), s.Env()...)
	run := func(args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("vault %v: %v\n%s", args, err, out)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, p := range set.Policies {
			run("policy", "write", p.Name, p.File)
		}
		for _, a := range set.AppRoles {
			args := []string{"write", "auth/approle/role/" + a.Name}
			for k, v := range a.roleFields() {
				args = append(args, fmt.Sprintf("%s=%s", k, canonical(v)))
			}
			run(args...)
		}
	}
}

// BenchmarkCheck proves the whole shipped matrix: six logins, one
// capabilities-self call and one real request per row.
func BenchmarkCheck(b *testing.B) {
	s := server(b)
	c := rootClient(b, s)
	set := shipped(b)
	ctx := context.Background()
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Check(ctx, c, set, CheckOptions{})
		if err != nil || rep.Failed != 0 {
			b.Fatalf("Check = %v, %d failed", err, rep.Failed)
		}
	}
	b.ReportMetric(float64(len(set.Matrix)), "rows")
}

// BenchmarkSyncWritesAll is a sync that has to write every policy and
// AppRole (they are deleted, untimed, before each run): the same work as
// BenchmarkShellLoop.
func BenchmarkSyncWritesAll(b *testing.B) {
	s := server(b)
	c := rootClient(b, s)
	set := shipped(b)
	ctx := context.Background()
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		if _, err := Sync(ctx, c, &Set{}, SyncOptions{Prune: true}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := Sync(ctx, c, set, SyncOptions{})
		if err != nil || rep.Applied != len(set.Policies)+len(set.AppRoles) {
			b.Fatalf("Sync = %v, applied %d", err, rep.Applied)
		}
	}
}
