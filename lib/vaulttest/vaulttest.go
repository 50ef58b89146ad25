// Package vaulttest starts real Vault servers for tests: lib/localvault's
// servers (free 127.0.0.1 ports, a freshly generated CA and server
// certificate, raft storage in a temporary directory), initialised and
// unsealed, with KV v2 mounted at secret/ as on a host vault-install has
// bootstrapped, tied to a testing.TB and tracked so that KillAll ends them.
//
// The Vault binary comes from $VAULT_BINARY or from scripts/vault-binary
// (which builds and caches Vault 1.21.1; VAULT_FLAVOR=openbao selects
// OpenBao). lib/localvault starts servers with the parent-death signal set,
// from a thread that lives as long as the test binary, so none outlives it.
package vaulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/localvault"
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

	opts Options
	lv   *localvault.Server
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
	lo := localvault.Options{Binary: bin, Name: "vaulttest", Dir: o.Dir}
	if o.JoinTo != nil {
		lo.CA = o.JoinTo.lv.CA()
	}
	lv, err := localvault.New(lo)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, lv: lv, Dir: lv.Dir, CACert: lv.CACert, LogPath: lv.LogPath}
	fail := func(err error) (*Server, error) {
		err = fmt.Errorf("%w\n%s", err, s.LogTail(30))
		s.Close()
		return nil, err
	}
	if err := s.start(); err != nil {
		return fail(err)
	}
	if o.JoinTo != nil {
		if err := s.join(o.JoinTo); err != nil {
			return fail(err)
		}
		return s, nil
	}
	if o.NoInit {
		return s, nil
	}
	if err := s.initialize(); err != nil {
		return fail(err)
	}
	return s, nil
}

// start starts the process (on new free ports the first time) and waits
// until its API answers.
func (s *Server) start() error {
	registerLive(s)
	err := s.lv.Start(context.Background())
	s.Addr, s.ClusterAddr = s.lv.Addr, s.lv.ClusterAddr
	return err
}

// join makes s, started uninitialised, a standby of leader's raft cluster
// and unseals it with leader's keys.
func (s *Server) join(leader *Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.lv.Join(ctx, leader.Addr, leader.CACert); err != nil {
		return err
	}
	s.Token, s.UnsealKeys = leader.Token, leader.UnsealKeys
	s.opts.Threshold = leader.opts.Threshold
	return s.Unseal()
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := s.lv.Init(ctx, s.opts.Shares, s.opts.Threshold)
	if err != nil {
		return err
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
	return s.lv.Wait(ctx, "kv v2 at secret/", func() error {
		_, err := s.Client().Logical().ReadWithContext(ctx, "secret/config")
		return err
	})
}

// Unseal unseals the server with a threshold of keys and waits until it is
// the active node (a standby, for a server started with JoinTo).
func (s *Server) Unseal() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keys := s.UnsealKeys
	if len(keys) > s.opts.Threshold {
		keys = keys[:s.opts.Threshold]
	}
	if _, err := s.lv.Unseal(ctx, keys); err != nil {
		return fmt.Errorf("unsealing vault: %w", err)
	}
	return nil
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
func (s *Server) Stop() error { s.lv.Stop(); unregisterLive(s); return nil }

// Kill kills the server (SIGKILL) without giving it a chance to clean up.
func (s *Server) Kill() error { s.lv.Kill(); unregisterLive(s); return nil }

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
func (s *Server) Running() bool { return s.lv.Running() }

// PID returns the server's process id, or 0 when it is not running.
func (s *Server) PID() int { return s.lv.PID() }

// Close kills the server and removes its directory if Launch made it.
func (s *Server) Close() {
	s.Kill()
	s.lv.Close()
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string { return s.lv.LogTail(n) }
