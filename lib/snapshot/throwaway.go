package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/pki"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// throwaway is a Vault server of its own, for one drill: TLS with a CA made
// for it, raft storage, free 127.0.0.1 ports, everything in one temporary
// directory that close removes.
type throwaway struct {
	dir    string
	addr   string
	caFile string
	binary string
	ports  []int
	cmd    *exec.Cmd
	exited chan struct{}
}

func startThrowaway(ctx context.Context, binary, tempDir string) (*throwaway, error) {
	dir, err := os.MkdirTemp(tempDir, "vault-snap-drill-")
	if err != nil {
		return nil, fmt.Errorf("creating the drill directory: %w", err)
	}
	t := &throwaway{dir: dir, binary: binary}
	if err := t.prepare(); err != nil {
		t.close()
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a port taken in between: new ports
		if lastErr = t.start(ctx, nil); lastErr == nil {
			return t, nil
		}
		t.stop()
		if ctx.Err() != nil {
			break
		}
	}
	log := t.logTail()
	t.close()
	return nil, fmt.Errorf("starting the drill's vault server: %w%s", lastErr, log)
}

func (t *throwaway) prepare() error {
	for _, d := range []string{"data", "tls"} {
		if err := os.MkdirAll(filepath.Join(t.dir, d), 0o700); err != nil {
			return err
		}
	}
	ca, err := pki.NewCA("vault-snap drill CA", 2*time.Hour)
	if err != nil {
		return err
	}
	leaf, err := ca.Issue("localhost", []string{"127.0.0.1", "localhost"}, 2*time.Hour)
	if err != nil {
		return err
	}
	t.caFile = filepath.Join(t.dir, "tls", "ca.pem")
	if err := pki.WriteCert(t.caFile, ca.Cert); err != nil {
		return err
	}
	if err := pki.WriteCert(filepath.Join(t.dir, "tls", "server.pem"), leaf.Cert); err != nil {
		return err
	}
	return pki.WriteKey(filepath.Join(t.dir, "tls", "server-key.pem"), leaf.Key)
}

// openBaoListener returns the listener setting an OpenBao server needs for
// the drill to make its root token from the original shares: OpenBao turns
// the unauthenticated sys/generate-root endpoints off by default (from
// 2.5.3), and HashiCorp Vault does not know the setting. The drill server
// listens on loopback only and lives for the drill.
func openBaoListener(binary string) string {
	out, err := exec.Command(binary, "version").Output()
	if err != nil || !bytes.HasPrefix(out, []byte("OpenBao")) {
		return ""
	}
	return "\n  disable_unauthed_generate_root_endpoints = false"
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start writes the configuration and starts the server, on new free
// ports, or on ports (a restart keeps the raft address).
func (t *throwaway) start(ctx context.Context, ports []int) error {
	binary := t.binary
	if ports == nil {
		var err error
		if ports, err = freePorts(2); err != nil {
			return err
		}
	}
	t.ports = ports
	t.addr = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	// performance_multiplier 1: raft's fastest timeouts, for a single node
	// on loopback (the default, 5, makes every leader election take seconds).
	cfg := fmt.Sprintf(`storage "raft" {
  path                   = %q
  node_id                = "vault-snap-drill"
  performance_multiplier = 1
}

listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_cert_file   = %q
  tls_key_file    = %q%s
}

api_addr      = %q
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
ui            = false
`, filepath.Join(t.dir, "data"), ports[0], ports[1],
		filepath.Join(t.dir, "tls", "server.pem"), filepath.Join(t.dir, "tls", "server-key.pem"), openBaoListener(binary),
		t.addr, ports[1])
	conf := filepath.Join(t.dir, "vault.hcl")
	if err := safefile.Write(conf, []byte(cfg), 0o600); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(t.dir, "vault.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	cmd := exec.Command(binary, "server", "-config="+conf)
	cmd.Dir = t.dir
	// A clean environment: none of the caller's VAULT_* variables.
	cmd.Env = []string{"HOME=" + t.dir, "PATH=/usr/bin:/bin", "VAULT_LOG_FORMAT=standard"}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", binary, err)
	}
	t.cmd, t.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(t.exited) }()

	vc, err := t.client("")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := vc.Sys().SealStatusWithContext(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-t.exited:
			return errors.New("vault exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vault did not answer within 60s: %v", err)
		}
	}
}

func (t *throwaway) client(token string) (*vaultclient.Client, error) {
	vc, err := vaultclient.New(context.Background(), vaultclient.Flags{Conn: vaultclient.Conn{
		Address: t.addr, CACert: t.caFile, Timeout: vaultclient.Duration(60 * time.Second),
	}}, vaultclient.Options{NoAuth: true})
	if err != nil {
		return nil, err
	}
	vc.SetToken(token)
	return vc, nil
}

// restart stops the server and starts it again on the same ports and data;
// it comes up sealed, with the seal configuration its storage holds.
func (t *throwaway) restart(ctx context.Context) error {
	t.stop()
	return t.start(ctx, t.ports)
}

// initialise makes the server a cluster of its own with the given Shamir
// split and returns its root token: restoring needs an unsealed server.
func (t *throwaway) initialise(ctx context.Context, shares, threshold int) (string, error) {
	vc, err := t.client("")
	if err != nil {
		return "", err
	}
	if shares < 1 || threshold < 1 || threshold > shares {
		shares, threshold = 1, 1
	}
	resp, err := vc.Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: shares, SecretThreshold: threshold})
	if err != nil {
		return "", vc.Classify(err, "initialising the drill server", "")
	}
	if _, err := unseal(ctx, vc, resp.Keys); err != nil {
		return "", err
	}
	return resp.RootToken, nil
}

func (t *throwaway) stop() {
	if t.cmd == nil {
		return
	}
	syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.exited
	}
	t.cmd = nil
}

// close stops the server and removes its directory.
func (t *throwaway) close() error {
	t.stop()
	return os.RemoveAll(t.dir)
}

func (t *throwaway) logTail() string {
	b, err := os.ReadFile(filepath.Join(t.dir, "vault.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nlast lines of its log:\n" + strings.Join(lines, "\n")
}

// unseal submits shares until vc's server is unsealed, then waits until it
// is the active node. It reports how many shares it used.
func unseal(ctx context.Context, vc *vaultclient.Client, shares []string) (int, error) {
	used := 0
	st, err := vc.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return 0, vc.Classify(err, "reading", "sys/seal-status")
	}
	for _, s := range shares {
		if !st.Sealed {
			break
		}
		if st, err = vc.Sys().UnsealWithContext(ctx, s); err != nil {
			return used, vc.Classify(err, "submitting key share", fmt.Sprintf("#%d", used+1))
		}
		used++
	}
	if st.Sealed {
		return used, fault.New(fault.Sealed, "", "", fmt.Errorf("still sealed after %d of the given shares (threshold %d, progress %d)", used, st.T, st.Progress))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		h, err := vc.Sys().HealthWithContext(ctx)
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			return used, nil
		}
		if time.Now().After(deadline) {
			return used, fmt.Errorf("not the active node 60s after unsealing: %v", err)
		}
		select {
		case <-ctx.Done():
			return used, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitSealed waits until vc's server reports sealed (a force-restored
// snapshot of another cluster seals the node).
func waitSealed(ctx context.Context, vc *vaultclient.Client, within time.Duration) (bool, error) {
	deadline := time.Now().Add(within)
	for {
		st, err := vc.Sys().SealStatusWithContext(ctx)
		if err == nil && st.Sealed {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
