// Package vaulttest starts real Vault servers for tests: each on free
// 127.0.0.1 ports, with a freshly generated CA and server certificate, raft
// storage in a temporary directory, initialised and unsealed, with KV v2
// mounted at secret/ as on a host vault-install has bootstrapped.
//
// The Vault binary comes from $VAULT_BINARY or from scripts/vault-binary
// (which builds and caches Vault 1.21.1; VAULT_FLAVOR=openbao selects
// OpenBao). Servers are started with the parent-death signal set, from a
// thread that lives as long as the test binary, so none outlives it.
package vaulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/pki"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// Options configure a server. The zero value gives an initialised, unsealed
// server with 3 key shares, threshold 2, and KV v2 at secret/.
type Options struct {
	Shares    int  // key shares (default 3)
	Threshold int  // unseal threshold (default 2)
	NoInit    bool // leave the server uninitialised (and so sealed)
	Sealed    bool // initialise but do not unseal
	NoKV      bool // do not mount KV v2 at secret/
	// ExtraConfig is appended to the server's HCL configuration.
	ExtraConfig string
	// Dir is where the server keeps its files; a new temporary directory
	// when empty. It is removed by Close only when it was created here.
	Dir string
	// JoinTo makes the server join JoinTo's raft cluster as a standby: it
	// shares JoinTo's CA, root token and unseal keys (Shares, Threshold,
	// NoInit, Sealed and NoKV are ignored).
	JoinTo *Server
}

// Server is a running (or stopped) Vault server.
type Server struct {
	Addr        string   // https://127.0.0.1:PORT
	ClusterAddr string   // https://127.0.0.1:PORT
	CACert      string   // path of the PEM CA that signed the server certificate
	Token       string   // root token (empty when NoInit)
	UnsealKeys  []string // base64 unseal keys (empty when NoInit)
	Dir         string   // working directory: config, certs, data, log
	LogPath     string   // server's combined stdout and stderr

	opts   Options
	ca     *pki.CA
	binary string
	ownDir bool
	mu     sync.Mutex
	proc   *Process // nil when stopped
}

// Start starts a server for t and stops it when t ends; if t failed, the
// tail of the server log is printed.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := Launch(o)
	if err != nil {
		t.Fatalf("starting vault: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vault server log (%s), last lines:\n%s", s.LogPath, s.LogTail(80))
		}
		s.Close()
	})
	return s
}

// Launch starts a server without a testing.TB; the caller must Close it.
func Launch(o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if o.Shares == 0 {
		o.Shares = 3
	}
	if o.Threshold == 0 {
		o.Threshold = 2
		if o.Shares < 2 {
			o.Threshold = o.Shares
		}
	}
	s := &Server{opts: o, binary: bin, Dir: o.Dir}
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "vaulttest-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.ownDir = d, true
	}
	if err := s.prepare(); err != nil {
		s.Close()
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // free-port races are retried on new ports
		if lastErr = s.pickPortsAndConfigure(); lastErr != nil {
			break
		}
		if lastErr = s.start(); lastErr == nil {
			break
		}
		s.Kill()
	}
	if lastErr != nil {
		err := fmt.Errorf("%w\n%s", lastErr, s.LogTail(30))
		s.Close()
		return nil, err
	}
	if o.JoinTo != nil {
		if err := s.join(o.JoinTo); err != nil {
			err = fmt.Errorf("%w\n%s", err, s.LogTail(30))
			s.Close()
			return nil, err
		}
		return s, nil
	}
	if o.NoInit {
		return s, nil
	}
	if err := s.initialize(); err != nil {
		err = fmt.Errorf("%w\n%s", err, s.LogTail(30))
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) prepare() error {
	for _, d := range []string{"data", "tls"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o700); err != nil {
			return err
		}
	}
	ca := s.opts.JoinTo.caOrNil()
	if ca == nil {
		var err error
		if ca, err = pki.NewCA("vaulttest CA", 24*time.Hour); err != nil {
			return err
		}
	}
	s.ca = ca
	leaf, err := ca.Issue("localhost", []string{"127.0.0.1", "localhost"}, 24*time.Hour)
	if err != nil {
		return err
	}
	s.CACert = filepath.Join(s.Dir, "tls", "ca.pem")
	s.LogPath = filepath.Join(s.Dir, "vault.log")
	if err := pki.WriteCert(s.CACert, ca.Cert); err != nil {
		return err
	}
	if err := pki.WriteCert(filepath.Join(s.Dir, "tls", "server.pem"), leaf.Cert); err != nil {
		return err
	}
	return pki.WriteKey(filepath.Join(s.Dir, "tls", "server-key.pem"), leaf.Key)
}

func (s *Server) pickPortsAndConfigure() error {
	ports, err := FreePorts(2)
	if err != nil {
		return err
	}
	s.Addr = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	s.ClusterAddr = fmt.Sprintf("https://127.0.0.1:%d", ports[1])
	cfg := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = "vaulttest-%d"
}

listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_cert_file   = %q
  tls_key_file    = %q
  tls_min_version = "tls12"
}

api_addr      = %q
cluster_addr  = %q
disable_mlock = true
ui            = false
log_level     = "info"
%s
`, filepath.Join(s.Dir, "data"), ports[0], ports[0], ports[1],
		filepath.Join(s.Dir, "tls", "server.pem"), filepath.Join(s.Dir, "tls", "server-key.pem"),
		s.Addr, s.ClusterAddr, s.opts.ExtraConfig)
	return safefile.Write(filepath.Join(s.Dir, "vault.hcl"), []byte(cfg), 0o600)
}

// caOrNil returns s's CA, or nil for a nil server.
func (s *Server) caOrNil() *pki.CA {
	if s == nil {
		return nil
	}
	return s.ca
}

// join makes s, started uninitialised, a standby of leader's raft cluster
// and unseals it with leader's keys.
func (s *Server) join(leader *Server) error {
	c := s.anonymous()
	ca, err := os.ReadFile(leader.CACert)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.Sys().RaftJoinWithContext(ctx, &api.RaftJoinRequest{LeaderAPIAddr: leader.Addr, LeaderCACert: string(ca)}); err != nil {
		return fmt.Errorf("joining %s: %w", leader.Addr, err)
	}
	s.Token, s.UnsealKeys = leader.Token, leader.UnsealKeys
	s.opts.Threshold = leader.opts.Threshold
	return s.Unseal()
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start launches the process and waits until its API answers.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("vault is already running")
	}
	p, err := StartProcess(s.binary, filepath.Join(s.Dir, "vault.hcl"), s.LogPath)
	if err != nil {
		return err
	}
	s.proc = p
	registerLive(s)

	c := s.anonymous()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Sys().SealStatusWithContext(ctx)
		cancel()
		if err == nil || !isConnErr(err) {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("vault exited during start-up (see %s)", s.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vault did not answer within 60s: %v", err)
		}
	}
}

func isConnErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED)
}

// anonymous returns the harness's own client: no token, the server's CA,
// no retries (the harness waits by itself).
func (s *Server) anonymous() *vaultclient.Client {
	f := vaultclient.Flags{Conn: vaultclient.Conn{Address: s.Addr, CACert: s.CACert, Timeout: vaultclient.Duration(30 * time.Second)}}
	c, err := vaultclient.New(context.Background(), f, vaultclient.Options{NoAuth: true})
	if err != nil {
		panic(err) // the CA file was written by prepare
	}
	return c
}

// Client returns a client authenticated with the root token (none when the
// server is not initialised), built by lib/vaultclient as every binary
// builds its own, with s.Flags.
func (s *Server) Client() *vaultclient.Client {
	c, err := s.ClientWithToken(s.Token)
	if err != nil {
		panic(err) // the CA file was written by prepare, and the token is set
	}
	return c
}

// ClientWithToken returns a client like Client's that uses token instead
// (none when empty).
func (s *Server) ClientWithToken(token string) (*vaultclient.Client, error) {
	return vaultclient.New(context.Background(), s.Flags(), vaultclient.Options{NoAuth: token == "", Getenv: tokenEnv(token)})
}

// tokenEnv is a Getenv that knows only VAULT_TOKEN: the test process's
// own environment never leaks into a client.
func tokenEnv(token string) func(string) string {
	return func(k string) string {
		if k == "VAULT_TOKEN" {
			return token
		}
		return ""
	}
}

// Env returns VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN for the server.
func (s *Server) Env() []string {
	return []string{"VAULT_ADDR=" + s.Addr, "VAULT_CACERT=" + s.CACert, "VAULT_TOKEN=" + s.Token}
}

// Flags returns vaultclient flags for the server (the token travels
// separately, as VAULT_TOKEN would).
func (s *Server) Flags() vaultclient.Flags {
	return vaultclient.Flags{
		Conn: vaultclient.Conn{Address: s.Addr, CACert: s.CACert, Timeout: vaultclient.Duration(10 * time.Second), MaxRetries: 1},
		Auth: vaultclient.Auth{AppRoleMount: "approle"},
	}
}

func (s *Server) initialize() error {
	c := s.anonymous()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := c.Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: s.opts.Shares, SecretThreshold: s.opts.Threshold})
	if err != nil {
		return fmt.Errorf("initialising vault: %w", err)
	}
	s.Token = resp.RootToken
	s.UnsealKeys = resp.KeysB64
	keys, err := json.Marshal(map[string]any{"unseal_keys_b64": resp.KeysB64, "root_token": resp.RootToken})
	if err != nil {
		return err
	}
	if err := safefile.Write(filepath.Join(s.Dir, "init.json"), keys, 0o600); err != nil {
		return err
	}
	if s.opts.Sealed {
		return nil
	}
	if err := s.Unseal(); err != nil {
		return err
	}
	if s.opts.NoKV {
		return nil
	}
	err = s.Client().Sys().MountWithContext(ctx, "secret", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})
	if err != nil {
		return fmt.Errorf("mounting kv v2 at secret/: %w", err)
	}
	// KV v2 upgrades its storage in the background after mounting; wait until
	// it takes writes.
	return s.waitFor(ctx, "kv v2 at secret/", func() error {
		_, err := s.Client().Logical().ReadWithContext(ctx, "secret/config")
		return err
	})
}

// Unseal unseals the server with a threshold of keys and waits until it is
// the active node (a standby, for a server started with JoinTo).
func (s *Server) Unseal() error {
	c := s.anonymous()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < s.opts.Threshold && i < len(s.UnsealKeys); i++ {
		st, err := c.Sys().UnsealWithContext(ctx, s.UnsealKeys[i])
		if err != nil {
			return fmt.Errorf("unsealing vault: %w", err)
		}
		if !st.Sealed {
			break
		}
	}
	return s.waitFor(ctx, "an active unsealed node", func() error {
		h, err := c.Sys().HealthWithContext(ctx)
		if err != nil {
			return err
		}
		if h.Sealed || !h.Initialized || h.Standby != (s.opts.JoinTo != nil) {
			return fmt.Errorf("health: initialized=%v sealed=%v standby=%v", h.Initialized, h.Sealed, h.Standby)
		}
		return nil
	})
}

func (s *Server) waitFor(ctx context.Context, what string, ok func() error) error {
	var err error
	for {
		if err = ok(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %v", what, err)
		case <-s.exitedChan():
			return fmt.Errorf("vault exited while waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) exitedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.proc.Exited()
}

// Seal seals the server with the root token.
func (s *Server) Seal() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client().Sys().SealWithContext(ctx); err != nil {
		return fmt.Errorf("sealing vault: %w", err)
	}
	return nil
}

// Stop stops the server gracefully (SIGTERM) and waits for it to exit.
func (s *Server) Stop() error { s.end((*Process).Stop); return nil }

// Kill kills the server (SIGKILL) without giving it a chance to clean up.
func (s *Server) Kill() error { s.end((*Process).Kill); return nil }

func (s *Server) end(how func(*Process)) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	how(p)
	unregisterLive(s)
}

// StartAgain starts a stopped server on the same ports and data; it comes up
// sealed.
func (s *Server) StartAgain() error { return s.start() }

// Restart stops the server, starts it again and unseals it.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	if err := s.start(); err != nil {
		return err
	}
	if s.opts.NoInit {
		return nil
	}
	return s.Unseal()
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	select {
	case <-s.exitedChan():
		return false
	default:
		return true
	}
}

// PID returns the server's process id, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.PID()
}

// Close kills the server and removes its directory if Launch made it.
func (s *Server) Close() {
	s.Kill()
	if s.ownDir {
		os.RemoveAll(s.Dir)
	}
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string { return logTail(s.LogPath, n) }
