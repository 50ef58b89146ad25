// The vault-snap benchmark measures, on one real Vault holding N secrets:
// vault-snap save against `vault operator raft snapshot save` (the same
// server, alternating runs, median time and their ratio), and vault-snap
// drill end to end; and, on a synthetic snapshot of -big bytes served by a
// loopback stand-in for sys/storage/raft/snapshot, the peak RSS of save
// and of verify (memory must stay flat in the snapshot's size). It prints
// one JSON document.
//
// Usage:
//
//	go run ./bench/vault-snap [-n 10000] [-runs 5] [-big 1073741824]
//
// It builds vault-snap, starts the Vault of lib/vaulttest (raft, TLS) and
// writes N secrets of 64 random bytes under secret/bench/.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/snapshot/snapshottest"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench vault-snap: error:", err)
		os.Exit(1)
	}
}

type result struct {
	Secrets              int     `json:"secrets"`
	SnapshotBytes        int64   `json:"snapshot_bytes"`
	VaultCLISaveSeconds  float64 `json:"vault_cli_save_seconds"`
	VaultSnapSaveSeconds float64 `json:"vault_snap_save_seconds"`
	SaveRatio            float64 `json:"save_ratio"`
	NoCountSaveSeconds   float64 `json:"vault_snap_save_no_kv_count_seconds"`
	NoCountRatio         float64 `json:"save_no_kv_count_ratio"`
	DrillSeconds         float64 `json:"drill_seconds"`
	DrillOK              bool    `json:"drill_ok"`
	BigBytes             int64   `json:"big_snapshot_bytes,omitempty"`
	BigSaveSeconds       float64 `json:"big_save_seconds,omitempty"`
	BigSaveMaxRSSMB      float64 `json:"big_save_max_rss_mb,omitempty"`
	BigVerifySeconds     float64 `json:"big_verify_seconds,omitempty"`
	BigVerifyMaxRSSMB    float64 `json:"big_verify_max_rss_mb,omitempty"`
	LoadAverage          string  `json:"load_average"`
}

func run() error {
	n := flag.Int("n", 10000, "secrets")
	runs := flag.Int("runs", 5, "save runs of each tool (median)")
	big := flag.Int64("big", 1<<30, "bytes of state in the synthetic snapshot (0: skip)")
	flag.Parse()

	bench, err := vaulttest.NewBench("vault-snap")
	if err != nil {
		return err
	}
	defer bench.Close()
	dir, vaultBin, s := bench.Dir, bench.VaultBinary, bench.Server
	snapBin := bench.Tool
	if err := fill(s, *n); err != nil {
		return err
	}
	res := result{Secrets: *n}
	env := append(os.Environ(), s.Env()...)

	var cli, snap, nocount []float64
	for i := 0; i < *runs; i++ {
		out := filepath.Join(dir, fmt.Sprintf("cli-%d.snap", i))
		d, _, err := timed(env, vaultBin, "operator", "raft", "snapshot", "save", out)
		if err != nil {
			return err
		}
		cli = append(cli, d)
		if st, err := os.Stat(out); err == nil {
			res.SnapshotBytes = st.Size()
		}
		os.Remove(out)
		sd := filepath.Join(dir, fmt.Sprintf("snaps-%d", i))
		os.Mkdir(sd, 0o700)
		if d, _, err = timed(env, snapBin, "save", "--dir", sd); err != nil {
			return err
		}
		snap = append(snap, d)
		if d, _, err = timed(env, snapBin, "save", "--dir", sd, "--no-kv-count"); err != nil {
			return err
		}
		nocount = append(nocount, d)
		if i < *runs-1 {
			os.RemoveAll(sd)
		}
	}
	res.VaultCLISaveSeconds, res.VaultSnapSaveSeconds, res.NoCountSaveSeconds = median(cli), median(snap), median(nocount)
	res.SaveRatio = round(res.VaultSnapSaveSeconds / res.VaultCLISaveSeconds)
	res.NoCountRatio = round(res.NoCountSaveSeconds / res.VaultCLISaveSeconds)

	// Drill the last full save (the one with KV counts), end to end.
	sd := filepath.Join(dir, fmt.Sprintf("snaps-%d", *runs-1))
	ents, _ := filepath.Glob(filepath.Join(sd, "*.snap"))
	sort.Strings(ents)
	shares := filepath.Join(dir, "shares")
	os.WriteFile(shares, []byte(strings.Join(s.UnsealKeys, "\n")+"\n"), 0o600)
	d, _, err := timed(append(env, "VAULT_BINARY="+vaultBin), snapBin, "drill", ents[0], "--share-file", shares, "--canary", "secret/data/bench/0")
	res.DrillSeconds, res.DrillOK = round(d), err == nil
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
	}

	if *big > 0 {
		if err := bigSnapshot(&res, dir, snapBin, *big); err != nil {
			return err
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAverage = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func fill(s *vaulttest.Server, n int) error {
	c := s.Client()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	next := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for i := range next {
				rand.Read(buf)
				if _, err := c.Logical().Write(fmt.Sprintf("secret/data/bench/%d", i), map[string]any{"data": map[string]any{"v": base64.StdEncoding.EncodeToString(buf)}}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("writing secrets: %w", err)
	default:
		return nil
	}
}

// timed runs a command and returns its wall time and peak RSS in MB.
func timed(env []string, bin string, args ...string) (float64, float64, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, os.Stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start).Seconds()
	var rss float64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = float64(ru.Maxrss) / 1024
		}
	}
	if err != nil {
		return d, rss, fmt.Errorf("%s %s: %w", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return d, rss, nil
}

// bigSnapshot serves a synthetic snapshot of size bytes of state from a
// loopback stand-in for Vault's snapshot endpoint, saves it with vault-snap
// and verifies the file, recording time and peak RSS of each.
func bigSnapshot(res *result, dir, snapBin string, size int64) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/sys/health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"initialized":true,"sealed":false,"standby":false,"version":"1.21.1","cluster_id":"bench","cluster_name":"bench"}`)
	})
	mux.HandleFunc("/v1/sys/seal-status", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"type":"shamir","initialized":true,"sealed":false,"t":2,"n":3,"progress":0}`)
	})
	mux.HandleFunc("/v1/sys/storage/raft/snapshot", func(w http.ResponseWriter, r *http.Request) {
		snapshottest.Write(w, size, 7, 1000, 5)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()
	sd := filepath.Join(dir, "big")
	os.Mkdir(sd, 0o700)
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "VAULT_ADDR=http://" + l.Addr().String(), "VAULT_TOKEN=bench"}
	d, rss, err := timed(env, snapBin, "save", "--dir", sd, "--no-kv-count")
	if err != nil {
		return err
	}
	res.BigSaveSeconds, res.BigSaveMaxRSSMB = round(d), round(rss)
	files, _ := filepath.Glob(filepath.Join(sd, "*.snap"))
	if len(files) != 1 {
		return fmt.Errorf("big save wrote %v", files)
	}
	st, _ := os.Stat(files[0])
	res.BigBytes = st.Size()
	d, rss, err = timed(env, snapBin, "verify", files[0])
	if err != nil {
		return err
	}
	res.BigVerifySeconds, res.BigVerifyMaxRSSMB = round(d), round(rss)
	return nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return round(s[len(s)/2])
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
