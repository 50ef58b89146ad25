// The env-import benchmark compares importing N keys as N secrets (one path
// per key) with env-import against a shell loop of N `vault kv put` calls,
// on the same Vault server and the same paths (in two KV v2 mounts made
// alike), and prints the times and their ratio as JSON.
//
// Usage:
//
//	go run ./bench/env-import [-n 1000] [-runs 3]
//
// It builds env-import, starts a real Vault (raft storage, TLS) with
// lib/vaulttest, and hands values to `vault kv put` on stdin (key=-), never
// in argv. env-import runs -runs times into fresh mounts; the median is used.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/jsonout"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench env-import: error:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 1000, "keys")
	runs := flag.Int("runs", 3, "env-import runs (median)")
	par := flag.Int("concurrency", 32, "env-import --concurrency (its default)")
	shell := flag.Bool("shell", true, "time the shell loop too (false: env-import only, for tuning)")
	flag.Parse()

	bench, err := vaulttest.NewBench("env-import")
	if err != nil {
		return err
	}
	defer bench.Close()
	dir, vaultBin, s := bench.Dir, bench.VaultBinary, bench.Server
	c := s.Client()

	envDir := filepath.Join(dir, "app")
	os.MkdirAll(envDir, 0o700)
	var b strings.Builder
	for i := range *n {
		fmt.Fprintf(&b, "KEY_%04d=%s\n", i, value(i))
	}
	envFile := filepath.Join(envDir, ".env.bench")
	if err := os.WriteFile(envFile, []byte(b.String()), 0o600); err != nil {
		return err
	}
	env := append(os.Environ(), s.Env()...)

	mount := func(name string) error {
		return c.Sys().Mount(name, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})
	}

	// The shell loop: one vault process per key, value on stdin.
	if err := mount("shell"); err != nil {
		return err
	}
	n1 := *n
	if !*shell {
		n1 = 1
	}
	script := fmt.Sprintf(`set -e
for i in $(seq 0 %d); do
  k=$(printf 'KEY_%%04d' "$i")
  printf 'secret-value-%%06d-padding' "$i" | %q kv put -mount=shell app/bench/$k value=- >/dev/null
done`, n1-1, vaultBin)
	sh := exec.Command("bash", "-c", script)
	sh.Env, sh.Stderr = env, os.Stderr
	start := time.Now()
	if err := sh.Run(); err != nil {
		return fmt.Errorf("shell loop: %w", err)
	}
	shellTime := time.Since(start)

	var times []time.Duration
	for r := range *runs {
		m := fmt.Sprintf("imp%d", r)
		if err := mount(m); err != nil {
			return err
		}
		cmd := exec.Command(filepath.Join(dir, "env-import"), "apply", "--mount", m, "--layout", "key",
			"--map", envFile+"=app/bench", "--concurrency", fmt.Sprint(*par), envFile)
		cmd.Env, cmd.Stderr = env, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("env-import run %d: %w", r+1, err)
		}
		times = append(times, time.Since(start))
	}
	// Both wrote the same secrets.
	for _, i := range []int{0, *n / 2, *n - 1} {
		p := fmt.Sprintf("app/bench/KEY_%04d", i)
		for _, m := range []string{"shell", "imp0"} {
			if m == "shell" && i >= n1 {
				continue
			}
			sec, err := c.KVv2(m).Get(context.Background(), p)
			if err != nil || sec.Data["value"] != value(i) {
				return fmt.Errorf("%s/%s does not hold the expected value", m, p)
			}
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[len(times)/2]
	return jsonout.Write(os.Stdout, map[string]any{
		"keys":                 *n,
		"shell_loop_seconds":   shellTime.Seconds(),
		"env_import_seconds":   med.Seconds(),
		"env_import_runs":      durations(times),
		"shell_loop_keys":      n1,
		"ratio":                shellTime.Seconds() * float64(*n) / float64(n1) / med.Seconds(),
		"goal_ratio":           50,
		"vault_storage":        "raft",
		"env_import_arguments": fmt.Sprintf("apply --layout key --concurrency %d", *par),
	})
}

func value(i int) string { return fmt.Sprintf("secret-value-%06d-padding", i) }

func durations(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}
