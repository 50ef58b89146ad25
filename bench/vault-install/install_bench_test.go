// Package vaultinstall_test times vault-install from an empty root to an
// unsealed TLS Vault (binary already on disk), against the bare reference:
// a hand-written config, vault server, sys/init and sys/unseal through the
// API (what lib/vaulttest does, with no layout, PGP, or checks).
//
//	go test ./bench/vault-install -bench . -benchtime 3x -run '^$'
//
// Report the ratio install/bare; the absolute time depends on the machine.
package vaultinstall_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/install"
	"github.com/vaultpipe/vaultpipe/lib/install/installtest"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// vaulttest.Main stops installtest's servers too.
func TestMain(m *testing.M) { vaulttest.Main(m) }

func BenchmarkEmptyRootToUnsealed(b *testing.B) {
	binary, err := vaulttest.Binary()
	if err != nil {
		b.Fatal(err)
	}
	key, err := installtest.NewKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := key.Public()
	keyFile := filepath.Join(b.TempDir(), "bench.asc")
	os.WriteFile(keyFile, pub, 0o644)
	var total phases
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := installToUnsealed(b, binary, keyFile, key, &total); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(total.files.Seconds()/n, "files-s/op")
	b.ReportMetric(total.start.Seconds()/n, "start-s/op")
	b.ReportMetric(total.init.Seconds()/n, "init-s/op")
	b.ReportMetric(total.unseal.Seconds()/n, "unseal-s/op")
}

// phases splits the time of one run.
type phases struct{ files, start, init, unseal time.Duration }

func BenchmarkBareVaultToUnsealed(b *testing.B) {
	if _, err := vaulttest.Binary(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := vaulttest.Launch(vaulttest.Options{Shares: 3, Threshold: 2, NoKV: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// installToUnsealed runs the operator's steps: apply (files), start the
// service from the written config, apply (init), decrypt two shares and
// unseal, wait until the node is active.
func installToUnsealed(b *testing.B, binary, keyFile string, key *installtest.Key, ph *phases) error {
	ports, err := vaulttest.FreePorts(2)
	if err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "bench-install-")
	if err != nil {
		return err
	}
	o := &install.Options{
		Root: root, Binary: binary, NodeID: "bench",
		Listen: fmt.Sprintf("127.0.0.1:%d", ports[0]), ClusterListen: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Service: "none", Shares: 3, Threshold: 2, PGPKeys: []string{keyFile, keyFile, keyFile}, RootTokenPGPKey: keyFile,
		AllowSharedHolder: true, SecondAudit: "file", // one bench key stands in for three holders
	}
	if err := o.Validate(); err != nil {
		return err
	}
	ctx := context.Background()
	addr := fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	connect := func(context.Context) (*vaultclient.Client, error) {
		return vaultclient.New(ctx, vaultclient.Flags{Conn: vaultclient.Conn{Address: addr, CACert: o.Path(install.Layout.ExportedCA),
			Timeout: vaultclient.Duration(10 * time.Second)}}, vaultclient.Options{NoAuth: true})
	}
	r := &install.Runner{Opts: o, Connect: connect}
	var p *install.Pending
	t0 := time.Now()
	if _, err := r.Apply(ctx); !errors.As(err, &p) || p.Next != "start" {
		return fmt.Errorf("first apply: %v", err)
	}
	t1 := time.Now()
	ph.files += t1.Sub(t0)
	proc, err := installtest.Start(binary, o.Path(install.Layout.Config), filepath.Join(root, "vault.log"))
	if err != nil {
		return err
	}
	defer func() {
		b.StopTimer()
		proc.Kill()
		os.RemoveAll(root)
		b.StartTimer()
	}()
	vc, _ := connect(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := vc.Sys().SealStatus(); err == nil {
			break
		} else if time.Now().After(deadline) {
			return err
		}
	}
	t2 := time.Now()
	ph.start += t2.Sub(t1)
	if _, err := r.Apply(ctx); !errors.As(err, &p) || p.Next != "unseal" {
		return fmt.Errorf("second apply: %v", err)
	}
	t3 := time.Now()
	ph.init += t3.Sub(t2)
	defer func() { ph.unseal += time.Since(t3) }()
	data, err := os.ReadFile(o.Path(install.Layout.InitFile))
	if err != nil {
		return err
	}
	var f install.InitFile
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	var shares []string
	for _, s := range f.UnsealShares[:2] {
		v, err := key.DecryptB64(s.EncryptedB64)
		if err != nil {
			return err
		}
		shares = append(shares, v)
	}
	if res, err := unseal.Submit(ctx, vc, shares); err != nil || res.Sealed {
		return fmt.Errorf("unseal: %+v %v", res, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		h, err := vc.Sys().Health()
		if err == nil && !h.Sealed && !h.Standby {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not active: %+v %v", h, err)
		}
	}
}
