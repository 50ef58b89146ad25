package install_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/install"
	"github.com/vaultpipe/vaultpipe/lib/install/installtest"
	"github.com/vaultpipe/vaultpipe/lib/pki"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

func TestSystemdUnitFileIsTheRenderedUnit(t *testing.T) {
	want := install.DefaultUnit.Render()
	got, err := os.ReadFile("../../systemd/vault.service")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("systemd/vault.service differs from install.DefaultUnit.Render(); regenerate it:\n%s", want)
	}
	for _, d := range []string{"User=vault", "ProtectSystem=strict", "ReadWritePaths=/opt/vault/data /var/log/vault",
		"ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "PrivateUsers=yes", "ProtectProc=invisible",
		"NoNewPrivileges=yes", "CapabilityBoundingSet=", "AmbientCapabilities=", "SystemCallFilter=@system-service",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "LimitCORE=0", "MemorySwapMax=0", "LimitNOFILE=65536",
		"Restart=on-failure", "ExecReload=/bin/kill --signal HUP $MAINPID"} {
		if !bytes.Contains(want, []byte("\n"+d+"\n")) {
			t.Errorf("unit lacks the line %s", d)
		}
	}
	// No capabilities is right only while Vault does not mlock.
	cfg, err := vaultconfig.Render(vaultconfig.Server{NodeID: "n", DataDir: "/d", Listen: "127.0.0.1:8200", ClusterListen: "127.0.0.1:8201",
		APIAddr: "https://n:8200", ClusterAddr: "https://n:8201", TLSCertFile: "/c", TLSKeyFile: "/k"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^disable_mlock\s*=\s*true$`).Match(cfg) {
		t.Errorf("the unit grants no CAP_IPC_LOCK, but vault.hcl does not set disable_mlock = true:\n%s", cfg)
	}
}

// testOptions returns options for an unprivileged install under a fresh root.
func testOptions(t *testing.T, binary string) *install.Options {
	o := &install.Options{
		Root: t.TempDir(), Binary: binary, BinaryFrom: "test", NodeID: "node-a",
		Listen: "127.0.0.1:18200", ClusterListen: "127.0.0.1:18201",
		Service: "none", Shares: 1, Threshold: 1, SecondAudit: "file",
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	return o
}

func stubBinary(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "vault")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// unreachable connects to a port nothing listens on.
func unreachable(o *install.Options) func(context.Context) (*vaultclient.Client, error) {
	return func(ctx context.Context) (*vaultclient.Client, error) {
		return vaultclient.New(ctx, vaultclient.Flags{Conn: vaultclient.Conn{Address: "https://127.0.0.1:1", CACert: o.Path(install.Layout.ExportedCA), Timeout: vaultclient.Duration(2 * time.Second)}}, vaultclient.Options{NoAuth: true})
	}
}

func TestApplyLaysOutFilesWithModesAndConverges(t *testing.T) {
	o := testOptions(t, stubBinary(t))
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	ctx := context.Background()
	plan, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Changed || len(plan.Changes) < 10 {
		t.Fatalf("Plan(empty root) = %d changes; want every file and directory", len(plan.Changes))
	}
	entries, _ := os.ReadDir(o.Root)
	if len(entries) != 0 {
		t.Fatalf("Plan wrote into the root: %v", entries)
	}
	_, err = r.Apply(ctx)
	var p *install.Pending
	if !errors.As(err, &p) || p.Next != "start" {
		t.Fatalf("Apply(no server) = %v; want a pending start", err)
	}
	for path, mode := range map[string]os.FileMode{
		install.Layout.Config:     0o640,
		install.Layout.ConfigDir:  0o750,
		install.Layout.DataDir:    0o750,
		install.Layout.TLSDir:     0o750,
		install.Layout.ServerKey:  0o640,
		install.Layout.CAKey:      0o600,
		install.Layout.LogDir:     0o750,
		install.Layout.Binary:     0o755,
		install.Layout.Unit:       0o644,
		install.Layout.ExportedCA: 0o644,
	} {
		fi, err := os.Stat(o.Path(path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("mode of %s = %#o; want %#o", path, fi.Mode().Perm(), mode)
		}
	}
	cfg, _ := os.ReadFile(o.Path(install.Layout.Config))
	if !strings.Contains(string(cfg), o.Path(install.Layout.DataDir)) {
		t.Errorf("config does not point at the data dir under the root:\n%s", cfg)
	}
	again, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again.Changes {
		if c.Step != "service" {
			t.Errorf("Plan after Apply still wants %+v", c)
		}
	}
	// A changed option shows up as exactly that change.
	o.TLS13Only = true
	changed, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed.Changes) != 2 || changed.Changes[0].Step != "config" || changed.Changes[0].Action != "update" {
		t.Fatalf("Plan(--tls13-only) = %+v; want a config update (and the server check)", changed.Changes)
	}
}

func TestInstalledUnitPassesSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is missing: install Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed")
	}
	o := testOptions(t, stubBinary(t))
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	r.Apply(context.Background())
	out, err := exec.Command(sa, "verify", o.Path(install.Layout.Unit)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure score (0-10, lower is better) stays at most 1.5; it was
	// 5.1 before the unit was tightened. --threshold is in tenths.
	out, err = exec.Command(sa, "security", "--offline=yes", "--threshold=15", o.Path(install.Layout.Unit)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out[bytes.LastIndex(out, []byte("Overall")):]))
	// And a broken unit is caught: the check can fail.
	bad := filepath.Join(t.TempDir(), "vault.service")
	unit := install.Unit{Binary: "/nonexistent/vault", Config: o.Path(install.Layout.Config), User: "vault"}
	os.WriteFile(bad, unit.Render(), 0o644)
	if out, err := exec.Command(sa, "verify", bad).CombinedOutput(); err == nil {
		t.Fatalf("systemd-analyze verify accepted a unit whose binary is missing:\n%s", out)
	}
}

func TestValidateRejects(t *testing.T) {
	for name, mod := range map[string]func(*install.Options){
		"threshold above shares": func(o *install.Options) { o.Shares, o.Threshold = 3, 4 },
		"threshold 1 of 5":       func(o *install.Options) { o.Shares, o.Threshold = 5, 1 },
		"threshold 0 opted in":   func(o *install.Options) { o.Shares, o.Threshold, o.AllowThreshold1 = 5, 0, true },
		"relative root":          func(o *install.Options) { o.Root = "root" },
		"systemd under a root":   func(o *install.Options) { o.Service = "systemd" },
		"cert without key":       func(o *install.Options) { o.TLSCert = "x.pem" },
		"join over http":         func(o *install.Options) { o.Join = []string{"http://peer:8200"} },
	} {
		o := &install.Options{Root: "/tmp/x", NodeID: "n", Listen: "127.0.0.1:8200", ClusterListen: "127.0.0.1:8201",
			Service: "none", Shares: 5, Threshold: 3, SecondAudit: "file"}
		mod(o)
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%s) = nil; want an error", name)
		}
	}
}

func TestReadShares(t *testing.T) {
	in := "# holder alice\n" + strings.Repeat("ab", 16) + "\n\n  " + strings.Repeat("QUJD", 8) + "==  \n"
	got, err := unseal.ReadShares(strings.NewReader(in), "stdin")
	if err != nil || len(got) != 2 || got[1] != strings.Repeat("QUJD", 8)+"==" {
		t.Fatalf("ReadShares(good) = %q, %v", got, err)
	}
	secret := "not a share; it has spaces and is long enough"
	_, err = unseal.ReadShares(strings.NewReader(strings.Repeat("ab", 16)+"\n"+secret+"\n"), "stdin")
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), secret) {
		t.Fatalf("ReadShares(bad line 2) = %v; want an error naming line 2 without its content", err)
	}
}

func FuzzReadShares(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 16) + "\n"))
	f.Add([]byte("# c\n\n" + strings.Repeat("QUJD", 11) + "=\r\n"))
	f.Add([]byte("short\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		shares, err := unseal.ReadShares(bytes.NewReader(data), "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), string(data)) && len(data) > 16 {
				t.Fatalf("error echoes the input")
			}
			return
		}
		for _, s := range shares {
			if len(s) < 16 || strings.ContainsAny(s, " \t\n#") {
				t.Fatalf("ReadShares accepted %q", s)
			}
		}
	})
}

func TestServerCertificateCoversSANsAndIsReissuedWhenTheyChange(t *testing.T) {
	o := testOptions(t, stubBinary(t))
	o.SANs = []string{"vault.example.com", "10.1.2.3"}
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	r.Apply(context.Background())
	cert, err := pki.ReadCertificate(o.Path(install.Layout.ServerCert))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"vault.example.com", "10.1.2.3", "127.0.0.1", "localhost", "node-a"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("server certificate does not cover %s: %v", h, err)
		}
	}
	ca, _ := pki.ReadCertificate(o.Path(install.Layout.CACert))
	if err := cert.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("server certificate not signed by the local CA: %v", err)
	}
	o.SANs = append(o.SANs, "vault2.example.com")
	plan, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range plan.Changes {
		if c.Step == "tls" && c.Path == install.Layout.ServerCert && strings.Contains(c.Detail, "vault2.example.com") {
			found = true
		}
	}
	if !found {
		t.Fatalf("Plan(new SAN) = %+v; want the server certificate reissued", plan.Changes)
	}
}

func TestOperatorCertificateIsInstalledAsGiven(t *testing.T) {
	ca, err := pki.NewCA("operator CA", time.Hour*24*90)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("vault.example.com", []string{"vault.example.com"}, time.Hour*24*90)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	pki.WriteCert(certFile, leaf.Cert)
	pki.WriteKey(keyFile, leaf.Key)
	o := testOptions(t, stubBinary(t))
	o.TLSCert, o.TLSKey = certFile, keyFile
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	r.Apply(context.Background())
	for src, dst := range map[string]string{certFile: install.Layout.ServerCert, keyFile: install.Layout.ServerKey} {
		want, _ := os.ReadFile(src)
		got, err := os.ReadFile(o.Path(dst))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not a copy of %s (%v)", dst, src, err)
		}
	}
	if fi, err := os.Stat(o.Path(install.Layout.ServerKey)); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("server key mode = %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	if _, err := os.Stat(o.Path(install.Layout.CAKey)); !os.IsNotExist(err) {
		t.Errorf("a local CA was made although the operator gave a certificate: %v", err)
	}
}

func TestSplitKnowledge(t *testing.T) {
	dir := t.TempDir()
	key := func(name string) string {
		k, err := installtest.NewKey(name)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := k.Public()
		p := filepath.Join(dir, name+".asc")
		if err := os.WriteFile(p, pub, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alice, bob, carol := key("alice"), key("bob"), key("carol")
	aliceCopy := filepath.Join(dir, "alice-copy.asc")
	data, _ := os.ReadFile(alice)
	os.WriteFile(aliceCopy, data, 0o644)
	for _, tc := range []struct {
		name    string
		mod     func(*install.Options)
		wantErr string // "" for accepted
	}{
		{"three holders", func(o *install.Options) {}, ""},
		{"root token to a non-holder", func(o *install.Options) { o.RootTokenPGPKey = carol }, ""},
		{"a file twice", func(o *install.Options) { o.PGPKeys[2] = alice }, "is already given as --pgp-key " + alice},
		{"one key in two files", func(o *install.Options) { o.PGPKeys[1] = aliceCopy }, "--pgp-key " + aliceCopy + ": key "},
		{"a file twice, opted in", func(o *install.Options) { o.PGPKeys[2], o.AllowSharedHolder = alice, true }, ""},
		{"no root token key", func(o *install.Options) { o.RootTokenPGPKey = "" }, "no --root-token-pgp-key"},
		{"fewer keys than shares", func(o *install.Options) { o.PGPKeys = o.PGPKeys[:2] }, "3 shares, 2 keys"},
		{"threshold 1 of 3", func(o *install.Options) { o.Threshold = 1 }, "any one holder could unseal alone"},
		{"threshold 1 of 3, opted in", func(o *install.Options) { o.Threshold, o.AllowThreshold1 = 1, true }, ""},
	} {
		o := &install.Options{Root: "/tmp/x", NodeID: "n", Listen: "127.0.0.1:8200", ClusterListen: "127.0.0.1:8201",
			Service: "none", Shares: 3, Threshold: 2, SecondAudit: "file",
			PGPKeys: []string{alice, bob, carol}, RootTokenPGPKey: alice}
		tc.mod(o)
		err := o.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Validate(%s) = %v; want it accepted", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Validate(%s) = %v; want an error containing %q", tc.name, err, tc.wantErr)
		case tc.wantErr != "" && fault.KindOf(err) != fault.Usage:
			t.Errorf("Validate(%s) kind = %q; want usage", tc.name, fault.KindOf(err))
		}
	}
}

func TestLocalCAKeyStaysOutOfVaultsReachAndIsNeededOnlyToIssue(t *testing.T) {
	o := testOptions(t, stubBinary(t))
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	ctx := context.Background()
	rep, _ := r.Apply(ctx)
	var told bool
	for _, c := range rep.Changes {
		told = told || c.Path == install.Layout.CAKey && c.Action == "create" && strings.Contains(c.Detail, "move it off this host")
	}
	if !told {
		t.Errorf("Apply(new CA) changes = %+v; want the CA key's creation with advice to move it", rep.Changes)
	}
	if fi, err := os.Stat(o.Path(install.Layout.CAKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v, %v; want a 0600 file", fi, err)
	}
	if !strings.HasPrefix(install.Layout.CAKey, "/etc/vaultpipe/") {
		t.Errorf("Layout.CAKey = %s; want it outside the vault user's directories", install.Layout.CAKey)
	}
	entries, _ := os.ReadDir(o.Path(install.Layout.TLSDir))
	for _, e := range entries {
		if strings.Contains(e.Name(), "ca-key") {
			t.Errorf("a CA key is in %s: %s", install.Layout.TLSDir, e.Name())
		}
	}

	// The operator moves the key off the host: nothing needs it.
	offHost := filepath.Join(t.TempDir(), "ca-key.pem")
	if err := os.Rename(o.Path(install.Layout.CAKey), offHost); err != nil {
		t.Fatal(err)
	}
	plan, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.Step == "tls" {
			t.Errorf("Plan(CA key moved away) wants %+v", c)
		}
	}

	// A new name needs a new server certificate, and so the key, for one run.
	o.SANs = []string{"vault.example.com"}
	plan, _ = r.Plan(ctx)
	var asked bool
	for _, c := range plan.Changes {
		asked = asked || c.Path == install.Layout.ServerCert && strings.Contains(c.Detail, "needs the CA key")
	}
	if !asked {
		t.Errorf("Plan(new SAN, no CA key) = %+v; want the server certificate, saying it needs the CA key", plan.Changes)
	}
	_, err = r.Apply(ctx)
	if fault.KindOf(err) != fault.Usage || !strings.Contains(fault.Hint(err), "--tls-ca-key") {
		t.Fatalf("Apply(new SAN, no CA key) = %v (hint %q); want a usage error asking for --tls-ca-key", err, fault.Hint(err))
	}
	o.CACert, o.CAKey = o.Path(install.Layout.CACert), offHost
	if _, err := r.Apply(ctx); !errors.As(err, new(*install.Pending)) {
		t.Fatalf("Apply(new SAN, --tls-ca-key) = %v; want only the server start pending", err)
	}
	cert, err := pki.ReadCertificate(o.Path(install.Layout.ServerCert))
	if err != nil || cert.VerifyHostname("vault.example.com") != nil {
		t.Fatalf("server certificate after reissue: %v", err)
	}
	if _, err := os.Stat(o.Path(install.Layout.CAKey)); !os.IsNotExist(err) {
		t.Errorf("--tls-ca-key was copied onto the host: %v", err)
	}
}

func TestCAKeyOfTheOldLayoutIsMoved(t *testing.T) {
	o := testOptions(t, stubBinary(t))
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	ctx := context.Background()
	r.Apply(ctx)
	old := o.Path(install.Layout.OldCAKey)
	if err := os.Rename(o.Path(install.Layout.CAKey), old); err != nil {
		t.Fatal(err)
	}
	r.Apply(ctx)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("%s still exists after apply: %v", old, err)
	}
	if _, err := os.Stat(o.Path(install.Layout.CAKey)); err != nil {
		t.Errorf("CA key not moved to %s: %v", install.Layout.CAKey, err)
	}
}

func TestClusterPortIsLoopbackUnlessThereArePeers(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*install.Options)
		want string
	}{
		{"single node", func(o *install.Options) {}, "127.0.0.1:8201"},
		{"joining", func(o *install.Options) { o.Join = []string{"https://peer:8200"}; o.JoinCACert = "/ca.pem" }, "0.0.0.0:8201"},
		{"cluster address given", func(o *install.Options) { o.ClusterAddr = "https://10.0.0.1:8201" }, "0.0.0.0:8201"},
		{"explicit", func(o *install.Options) { o.ClusterListen = "10.0.0.1:8201" }, "10.0.0.1:8201"},
	} {
		o := &install.Options{Root: "/tmp/x", NodeID: "n", Listen: "0.0.0.0:8200", Service: "none", Shares: 1, Threshold: 1, SecondAudit: "file"}
		tc.mod(o)
		if err := o.Validate(); err != nil {
			t.Fatalf("Validate(%s) = %v", tc.name, err)
		}
		if o.ClusterListen != tc.want {
			t.Errorf("%s: ClusterListen = %s; want %s", tc.name, o.ClusterListen, tc.want)
		}
	}
}

func TestTLSFilesOfTheOldLayoutGetTheirModes(t *testing.T) {
	o := testOptions(t, stubBinary(t))
	r := &install.Runner{Opts: o, Connect: unreachable(o)}
	ctx := context.Background()
	r.Apply(ctx)
	// As an earlier version left them: a vault-owned 0700 directory, key 0600.
	os.Chmod(o.Path(install.Layout.TLSDir), 0o700)
	os.Chmod(o.Path(install.Layout.ServerKey), 0o600)
	plan, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{install.Layout.TLSDir: "mode 0700 -> 0750", install.Layout.ServerKey: "mode 0600 -> 0640"}
	for _, c := range plan.Changes {
		if w, ok := want[c.Path]; ok && c.Action == "update" && c.Detail == w {
			delete(want, c.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("Plan(old modes) = %+v; missing %v", plan.Changes, want)
	}
	r.Apply(ctx)
	if fi, err := os.Stat(o.Path(install.Layout.ServerKey)); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("server key after apply: %v, %v; want 0640", fi, err)
	}
	again, _ := r.Plan(ctx)
	for _, c := range again.Changes {
		if c.Step == "tls" || c.Step == "directory" {
			t.Errorf("Plan after fixing modes still wants %+v", c)
		}
	}
}

func TestOperatorKeyOfTheOldLayoutGetsItsMode(t *testing.T) {
	ca, err := pki.NewCA("operator CA", time.Hour*24*90)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := ca.Issue("vault.example.com", []string{"vault.example.com"}, time.Hour*24*90)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	pki.WriteCert(certFile, leaf.Cert)
	pki.WriteKey(keyFile, leaf.Key)
	o := testOptions(t, stubBinary(t))
	o.TLSCert, o.TLSKey = certFile, keyFile
	// A public CA: the client trusts the system roots, as vault-install's does.
	r := &install.Runner{Opts: o, Connect: func(ctx context.Context) (*vaultclient.Client, error) {
		return vaultclient.New(ctx, vaultclient.Flags{Conn: vaultclient.Conn{Address: "https://127.0.0.1:1", Timeout: vaultclient.Duration(2 * time.Second)}}, vaultclient.Options{NoAuth: true})
	}}
	r.Apply(context.Background())
	os.Chmod(o.Path(install.Layout.ServerKey), 0o600)
	plan, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var fix bool
	for _, c := range plan.Changes {
		fix = fix || c.Path == install.Layout.ServerKey && c.Detail == "mode 0600 -> 0640"
	}
	if !fix {
		t.Errorf("Plan(operator key 0600) = %+v; want its mode fixed", plan.Changes)
	}
	r.Apply(context.Background())
	if fi, _ := os.Stat(o.Path(install.Layout.ServerKey)); fi.Mode().Perm() != 0o640 {
		t.Errorf("operator key mode after apply = %#o; want 0640", fi.Mode().Perm())
	}
}
