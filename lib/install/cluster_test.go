package install_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/install"
	"github.com/vaultpipe/vaultpipe/lib/install/installtest"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	installtest.KillAll()
	os.Exit(code)
}

// node is one vault-install target started from its written config.
type node struct {
	t     *testing.T
	o     *install.Options
	proc  *installtest.Proc
	addr  string
	token string
}

func newNode(t *testing.T, name string, binary string, shareKey string, mod func(*install.Options)) *node {
	t.Helper()
	ports, err := vaulttest.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	o := &install.Options{
		Root: t.TempDir(), Binary: binary, BinaryFrom: "test", NodeID: name,
		Listen: fmt.Sprintf("127.0.0.1:%d", ports[0]), ClusterListen: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Service: "none", Shares: 1, Threshold: 1, PGPKeys: []string{shareKey}, RootTokenPGPKey: shareKey, SecondAudit: "file",
	}
	if mod != nil {
		mod(o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, o: o, addr: fmt.Sprintf("https://127.0.0.1:%d", ports[0])}
	t.Cleanup(func() {
		if n.proc != nil {
			if t.Failed() {
				t.Logf("%s log:\n%s", name, n.proc.LogTail(40))
			}
			n.proc.Kill()
		}
	})
	return n
}

func (n *node) client() *vaultclient.Client {
	c, err := vaultclient.New(context.Background(), vaultclient.Flags{Conn: vaultclient.Conn{Address: n.addr,
		CACert: n.o.Path(install.Layout.ExportedCA), Timeout: vaultclient.Duration(30 * time.Second)}}, vaultclient.Options{NoAuth: true})
	if err != nil {
		n.t.Fatal(err)
	}
	if n.token != "" {
		c.SetToken(n.token)
	}
	return c
}

func (n *node) apply(wantNext string) {
	n.t.Helper()
	r := &install.Runner{Opts: n.o, HasToken: n.token != "", WaitStart: 0,
		Connect: func(context.Context) (*vaultclient.Client, error) { return n.client(), nil }}
	_, err := r.Apply(context.Background())
	var p *install.Pending
	switch {
	case wantNext == "" && err != nil:
		n.t.Fatalf("%s: Apply = %v; want converged", n.o.NodeID, err)
	case wantNext != "" && (!errors.As(err, &p) || p.Next != wantNext):
		n.t.Fatalf("%s: Apply = %v; want pending %s", n.o.NodeID, err, wantNext)
	}
}

func (n *node) start(binary string) {
	n.t.Helper()
	p, err := installtest.Start(binary, n.o.Path(install.Layout.Config), filepath.Join(n.o.Root, "vault.log"))
	if err != nil {
		n.t.Fatal(err)
	}
	n.proc = p
	waitFor(n.t, 30*time.Second, n.o.NodeID+" listening", func() error {
		_, err := n.client().Sys().SealStatus()
		return err
	})
}

func waitFor(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decryptInit returns the shares and root token of an init file.
func decryptInit(t *testing.T, path string, key *installtest.Key) ([]string, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f install.InitFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	var shares []string
	for _, s := range f.UnsealShares {
		v, err := key.DecryptB64(s.EncryptedB64)
		if err != nil {
			t.Fatalf("decrypting a share: %v", err)
		}
		shares = append(shares, v)
	}
	tok, err := key.DecryptB64(f.RootToken.EncryptedB64)
	if err != nil {
		t.Fatalf("decrypting the root token: %v", err)
	}
	return shares, tok
}

func TestRaftClusterSurvivesLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Vault servers")
	}
	if os.Getenv("VAULT_FLAVOR") == "openbao" {
		t.Skip("OpenBao refuses to enable audit devices through the API, which the bootstrap does")
	}
	binary, err := vaulttest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	key, err := installtest.NewKey("holder")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.Public()
	keyFile := filepath.Join(t.TempDir(), "holder.asc")
	os.WriteFile(keyFile, pub, 0o644)
	ctx := context.Background()

	a := newNode(t, "node-a", binary, keyFile, func(o *install.Options) { o.KeepRoot = true })
	a.apply("start")
	a.start(binary)
	a.apply("unseal")
	shares, token := decryptInit(t, a.o.Path(install.Layout.InitFile), key)
	if res, err := unseal.Submit(ctx, a.client(), shares); err != nil || res.Sealed {
		t.Fatalf("Unseal(node-a) = %+v, %v", res, err)
	}
	a.token = token
	waitFor(t, 30*time.Second, "node-a active", func() error {
		h, err := a.client().Sys().Health()
		if err != nil || h.Standby || h.Sealed {
			return fmt.Errorf("health %+v %v", h, err)
		}
		return nil
	})
	a.apply("")
	// The bootstrap is converged: with the (kept) root token, nothing to do.
	again := &install.Runner{Opts: a.o, HasToken: true, Connect: func(context.Context) (*vaultclient.Client, error) { return a.client(), nil }}
	if rep, err := again.Plan(ctx); err != nil || len(rep.Changes) != 0 {
		t.Fatalf("Plan(node-a bootstrapped, with token) = %+v, %v; want no changes", rep, err)
	}

	caCert, caKey := a.o.Path(install.Layout.CACert), a.o.Path(install.Layout.CAKey)
	var peers []*node
	for _, name := range []string{"node-b", "node-c"} {
		n := newNode(t, name, binary, keyFile, func(o *install.Options) {
			o.CACert, o.CAKey, o.Join = caCert, caKey, []string{a.addr}
			o.TLS13Only = name == "node-b"
		})
		n.apply("start")
		n.start(binary)
		n.apply("unseal") // joining: never initialised on its own
		if _, err := unseal.Submit(ctx, n.client(), shares); err != nil {
			t.Fatalf("Unseal(%s) = %v", name, err)
		}
		n.token = token
		peers = append(peers, n)
	}
	// --tls13-only on node-b: a TLS 1.2 client is refused there, not on node-c.
	for _, n := range peers {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(n.addr, "https://"), &tls.Config{MaxVersion: tls.VersionTLS12, InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
		}
		if refused := err != nil && strings.Contains(err.Error(), "remote error"); refused != n.o.TLS13Only {
			t.Errorf("%s (tls13-only=%v): TLS 1.2 handshake error = %v", n.o.NodeID, n.o.TLS13Only, err)
		}
	}
	if _, err := a.client().Logical().Write("secret/data/probe", map[string]any{"options": map[string]any{"cas": 0}, "data": map[string]any{"v": "still-here"}}); err != nil {
		t.Fatal(err)
	}
	// Autopilot promotes joined nodes to voters only after they are stable;
	// losing the leader before that would lose the quorum, not test it.
	waitFor(t, 90*time.Second, "three raft voters", func() error {
		s, err := a.client().Logical().Read("sys/storage/raft/configuration")
		if err != nil {
			return err
		}
		servers, _ := s.Data["config"].(map[string]any)["servers"].([]any)
		voters := 0
		for _, sv := range servers {
			if m, _ := sv.(map[string]any); m["voter"] == true {
				voters++
			}
		}
		if voters != 3 {
			return fmt.Errorf("%d voters of %d servers", voters, len(servers))
		}
		return nil
	})
	for _, n := range peers {
		waitFor(t, 30*time.Second, n.o.NodeID+" replicated the probe", func() error {
			_, err := n.client().Logical().Read("secret/data/probe")
			return err
		})
	}

	a.proc.Kill()
	killed := time.Now()
	var leader string
	deadline := killed.Add(10 * time.Second)
	for {
		for _, n := range peers {
			c := n.client()
			c.SetMaxRetries(0)
			l, err := c.Sys().Leader()
			if err != nil || !l.IsSelf {
				continue
			}
			s, err := c.Logical().Read("secret/data/probe")
			if err != nil || s == nil {
				continue
			}
			if v := s.Data["data"].(map[string]any)["v"]; v != "still-here" {
				t.Fatalf("probe after failover = %v", v)
			}
			leader = n.o.NodeID
		}
		if leader != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if leader == "" {
		t.Fatalf("no new leader serving KV reads within 10s of killing node-a")
	}
	t.Logf("%s took over and served the KV read %.1fs after node-a was killed", leader, time.Since(killed).Seconds())
}
