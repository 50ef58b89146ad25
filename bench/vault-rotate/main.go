// The vault-rotate benchmark rotates N due KV v2 secrets in one
// `vault-rotate run` and compares it with a shell loop of N `vault kv put`
// calls writing the same number of new versions, on the same Vault server
// (in two KV v2 mounts made alike), and prints the times, their ratio and
// vault-rotate's peak memory (max RSS) as JSON.
//
// Usage:
//
//	go run ./bench/vault-rotate [-n 1000] [-runs 3]
//
// It builds vault-rotate, starts a real Vault (raft storage, TLS) with
// lib/vaulttest, and hands values to `vault kv put` on stdin (key=-), never
// in argv. Each vault-rotate run works on a fresh mount of N due secrets;
// the median is used.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench vault-rotate: error:", err)
		os.Exit(1)
	}
}

func value(i int) string { return fmt.Sprintf("secret-value-%06d-padding", i) }

func run() error {
	n := flag.Int("n", 1000, "due secrets")
	runs := flag.Int("runs", 3, "vault-rotate runs (median)")
	par := flag.Int("concurrency", 32, "vault-rotate run --concurrency (its default)")
	shellN := flag.Int("shell-n", -1, "secrets the shell loop writes (default -n; fewer to tune quickly, the ratio is scaled)")
	flag.Parse()

	bench, err := vaulttest.NewBench("vault-rotate")
	if err != nil {
		return err
	}
	defer bench.Close()
	dir, vaultBin, s := bench.Dir, bench.VaultBinary, bench.Server
	c := s.Client()
	env := append(os.Environ(), s.Env()...)
	ctx := context.Background()

	// populate makes a mount holding n secrets, all due.
	populate := func(mount string) error {
		if err := c.Sys().Mount(mount, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			return err
		}
		sem := make(chan struct{}, 32)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		for i := range *n {
			sem <- struct{}{}
			wg.Add(1)
			go func(i int) {
				defer func() { <-sem; wg.Done() }()
				p := fmt.Sprintf("app/bench/KEY_%04d", i)
				_, err := c.KVv2(mount).Put(ctx, p, map[string]any{"value": value(i)})
				if err == nil {
					err = c.KVv2(mount).PatchMetadata(ctx, p, api.KVMetadataPatchInput{CustomMetadata: map[string]any{"rotated_at.value": "2020-01-01T00:00:00Z"}})
				}
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		return first
	}

	// The shell loop: one vault process per secret, value on stdin.
	if err := c.Sys().Mount("shell", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		return err
	}
	if *shellN < 0 || *shellN > *n {
		*shellN = *n
	}
	script := fmt.Sprintf(`set -e
for i in $(seq 0 %d); do
  k=$(printf 'KEY_%%04d' "$i")
  printf 'rotated-value-%%06d-padding' "$i" | %q kv put -mount=shell app/bench/$k value=- >/dev/null
done`, *shellN-1, vaultBin)
	sh := exec.Command("bash", "-c", script)
	sh.Env, sh.Stderr = env, os.Stderr
	start := time.Now()
	if err := sh.Run(); err != nil {
		return fmt.Errorf("shell loop: %w", err)
	}
	shellTime := time.Since(start)

	var times []time.Duration
	var maxRSS int64
	for r := range *runs {
		m := fmt.Sprintf("rot%d", r)
		if err := populate(m); err != nil {
			return err
		}
		pol := filepath.Join(dir, m+".hcl")
		os.WriteFile(pol, []byte(fmt.Sprintf("defaults {\n  mount = %q\n}\nsecret \"app/bench/*\" {\n  key = \"value\"\n}\n", m)), 0o644)
		cmd := exec.Command(filepath.Join(dir, "vault-rotate"), "run", "--file", pol, "--concurrency", fmt.Sprint(*par))
		out, _ := os.Create(filepath.Join(dir, m+".jsonl"))
		cmd.Env, cmd.Stdout, cmd.Stderr = env, out, os.Stderr
		start := time.Now()
		err := cmd.Run()
		times = append(times, time.Since(start))
		out.Close()
		if err != nil {
			return fmt.Errorf("vault-rotate run %d: %w", r+1, err)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > maxRSS {
			maxRSS = ru.Maxrss
		}
		for _, i := range []int{0, *n / 2, *n - 1} {
			p := fmt.Sprintf("app/bench/KEY_%04d", i)
			sec, err := c.KVv2(m).Get(ctx, p)
			if err != nil || sec.VersionMetadata.Version != 2 || sec.Data["value"] == value(i) {
				return fmt.Errorf("%s/%s was not rotated once", m, p)
			}
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[len(times)/2]
	secs := make([]float64, len(times))
	for i, t := range times {
		secs[i] = t.Seconds()
	}
	doc, _ := json.MarshalIndent(map[string]any{
		"secrets":                 *n,
		"shell_loop_seconds":      shellTime.Seconds(),
		"vault_rotate_seconds":    med.Seconds(),
		"vault_rotate_runs":       secs,
		"shell_loop_secrets":      *shellN,
		"ratio":                   shellTime.Seconds() * float64(*n) / float64(*shellN) / med.Seconds(),
		"goal_ratio":              20,
		"vault_rotate_max_rss_mb": float64(maxRSS) / 1024,
		"vault_storage":           "raft",
		"vault_rotate_arguments":  fmt.Sprintf("run --concurrency %d", *par),
	}, "", "  ")
	fmt.Println(string(doc))
	return nil
}
