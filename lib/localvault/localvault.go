// Package localvault runs a Vault (or OpenBao) server of our own on this
// host: TLS with a CA made for it, raft storage, vault.hcl rendered by
// lib/vaultconfig, everything in one directory of its owner. It starts the
// process, waits until it answers, initialises, unseals (through
// lib/unseal), joins a cluster, restarts, and stops it (SIGTERM, then
// SIGKILL). vault-snap's drill restores snapshots into one; lib/vaulttest
// wraps it for tests.
//
// Servers are forked with the parent-death signal set, from a thread that
// lives as long as the process, so none outlives its owner.
package localvault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/pki"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/unseal"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

// Listener is where a server's API listens.
type Listener int

const (
	// Loopback is TLS on a free 127.0.0.1 port, which every local user
	// reaches.
	Loopback Listener = iota
	// Unix is a unix socket, vault.sock, in the server's 0700 directory:
	// only its owner connects. The server runs in user, network and mount
	// namespaces of its own, so the TCP listener raft needs for its cluster
	// port is on a loopback interface nobody else shares (and down).
	Unix
)

// Options configure a server.
type Options struct {
	Binary string // the vault (or bao) server binary
	// Name prefixes the server's directory, its node id and its CA's name.
	Name string
	// Dir is where the server keeps its files (vault.hcl, tls/, data/,
	// vault.log); when empty, a new directory under TempDir (os.TempDir()
	// when empty), which Close removes.
	Dir, TempDir string
	// NodeID is the raft node id; Name-PORT (the API port) when empty.
	NodeID string
	// CA issues the server certificate; a new CA when nil (a node joining
	// another's cluster shares that server's CA).
	CA *pki.CA
	// TTL is how long a new CA and the server certificate are valid
	// (default 24h).
	TTL      time.Duration
	Listener Listener
	// PrivateDirs are directories the server sees as its own, empty
	// Dir/private/N instead (Unix only): the live cluster's audit
	// directories, which a restored snapshot's audit devices would write to.
	PrivateDirs []string
	// GenerateRoot keeps sys/generate-root open without a token on an
	// OpenBao server, which turns it off by default (Vault has it on).
	GenerateRoot bool
}

// Server is a server of our own, running or stopped.
type Server struct {
	Addr        string // https://127.0.0.1:PORT, or unix://DIR/vault.sock
	ClusterAddr string // https://127.0.0.1:PORT
	CACert      string // path of the PEM CA that signed the server certificate
	Dir         string
	Config      string // path of vault.hcl
	LogPath     string // the server's combined stdout and stderr

	o      Options
	ca     *pki.CA
	ownDir bool
	// openBaoGenerateRoot: GenerateRoot on OpenBao, the only one that
	// knows the setting.
	openBaoGenerateRoot bool
	standby             bool // joined a cluster: unsealed, it is a standby

	mu   sync.Mutex
	proc *Process // nil when stopped
	// dirFD holds Dir open for the Unix listener's socket path.
	dirFD *os.File
}

// New prepares a server's directory, CA and certificate; Start starts it.
func New(o Options) (*Server, error) {
	if o.Name == "" {
		o.Name = "localvault"
	}
	if o.TTL == 0 {
		o.TTL = 24 * time.Hour
	}
	if o.Listener != Loopback && o.Listener != Unix {
		return nil, fmt.Errorf("listener %d: want Loopback or Unix", o.Listener)
	}
	if len(o.PrivateDirs) > 0 && o.Listener != Unix {
		return nil, errors.New("private directories need the Unix listener's namespaces")
	}
	s := &Server{o: o, Dir: o.Dir, openBaoGenerateRoot: o.GenerateRoot && isOpenBao(o.Binary)}
	if s.Dir == "" {
		d, err := os.MkdirTemp(o.TempDir, o.Name+"-")
		if err != nil {
			return nil, fmt.Errorf("creating the server's directory: %w", err)
		}
		s.Dir, s.ownDir = d, true
	}
	s.CACert = filepath.Join(s.Dir, "tls", "ca.pem")
	s.Config = filepath.Join(s.Dir, "vault.hcl")
	s.LogPath = filepath.Join(s.Dir, "vault.log")
	if err := s.prepare(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Launch makes a server with New and starts it; on failure the error ends
// with the last lines of its log, and nothing is left behind.
func Launch(ctx context.Context, o Options) (*Server, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		err = s.WithLog(err)
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
	s.ca = s.o.CA
	if s.ca == nil {
		var err error
		if s.ca, err = pki.NewCA(s.o.Name+" CA", s.o.TTL); err != nil {
			return err
		}
	}
	leaf, err := s.ca.Issue("localhost", []string{"127.0.0.1", "localhost"}, s.o.TTL)
	if err != nil {
		return err
	}
	if err := pki.WriteCert(s.CACert, s.ca.Cert); err != nil {
		return err
	}
	if err := pki.WriteCert(filepath.Join(s.Dir, "tls", "server.pem"), leaf.Cert); err != nil {
		return err
	}
	return pki.WriteKey(filepath.Join(s.Dir, "tls", "server-key.pem"), leaf.Key)
}

// CA is the CA of the server's certificate (for a node to join its cluster).
func (s *Server) CA() *pki.CA { return s.ca }

// Start starts the server and waits until its API answers. The first start
// picks free ports and writes vault.hcl (a port taken in between is retried
// on new ones); later starts keep ports, configuration and data, and the
// server comes up sealed.
func (s *Server) Start(ctx context.Context) error {
	if s.Addr != "" {
		return s.start(ctx)
	}
	for attempt := 1; ; attempt++ {
		if err := s.configure(); err != nil {
			return err
		}
		err := s.start(ctx)
		if err == nil {
			return nil
		}
		s.Kill()
		if attempt == 3 || ctx.Err() != nil {
			return err
		}
	}
}

// configure writes vault.hcl for new free ports (fixed ones in the Unix
// listener's own network namespace).
func (s *Server) configure() error {
	ports := []int{8200, 8201}
	if s.o.Listener == Loopback {
		var err error
		if ports, err = FreePorts(2); err != nil {
			return err
		}
	}
	s.Addr = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	s.ClusterAddr = fmt.Sprintf("https://127.0.0.1:%d", ports[1])
	node := s.o.NodeID
	if node == "" {
		node = s.o.Name + "-" + strconv.Itoa(ports[0])
	}
	cfg := vaultconfig.Server{
		NodeID:               node,
		DataDir:              filepath.Join(s.Dir, "data"),
		Listen:               net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		ClusterListen:        net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		APIAddr:              s.Addr,
		ClusterAddr:          s.ClusterAddr,
		TLSCertFile:          filepath.Join(s.Dir, "tls", "server.pem"),
		TLSKeyFile:           filepath.Join(s.Dir, "tls", "server-key.pem"),
		UnauthedGenerateRoot: s.openBaoGenerateRoot,
	}
	if s.o.Listener == Unix {
		// A unix socket's path holds 107 bytes, temporary directories can
		// be longer: the server (started in its directory) binds a relative
		// path, and clients connect through the directory's descriptor.
		cfg.UnixSocket = "vault.sock"
		if s.dirFD == nil {
			d, err := os.Open(s.Dir)
			if err != nil {
				return err
			}
			s.dirFD = d
		}
		s.Addr = fmt.Sprintf("unix:///proc/self/fd/%d/vault.sock", s.dirFD.Fd())
	}
	text, err := vaultconfig.Render(cfg)
	if err != nil {
		return err
	}
	return safefile.Write(s.Config, text, 0o600)
}

func isOpenBao(binary string) bool {
	out, err := exec.Command(binary, "version").Output()
	return err == nil && bytes.HasPrefix(out, []byte("OpenBao"))
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
func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	if s.proc != nil {
		s.mu.Unlock()
		return errors.New("vault is already running")
	}
	var iso *isolation
	if s.o.Listener == Unix {
		var err error
		if iso, err = s.isolation(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	p, err := startProcess(s.o.Binary, s.Config, s.LogPath, iso)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.proc = p
	s.mu.Unlock()

	c, err := s.Client("")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Sys().SealStatusWithContext(cctx)
		cancel()
		if err == nil || !isConnErr(err) && ctx.Err() == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("vault exited during start-up (see %s)", s.LogPath)
		case <-ctx.Done():
			return ctx.Err()
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

// Client returns a client of the server with token (none when empty), no
// retries: the caller waits by itself.
func (s *Server) Client(token string) (*vaultclient.Client, error) {
	f := vaultclient.Flags{Conn: vaultclient.Conn{Address: s.Addr, CACert: s.CACert, Timeout: vaultclient.Duration(60 * time.Second)}}
	c, err := vaultclient.New(context.Background(), f, vaultclient.Options{NoAuth: true})
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// Init initialises the server with a Shamir split of shares and threshold.
// The response holds the keys and root token: the caller keeps them safe.
func (s *Server) Init(ctx context.Context, shares, threshold int) (*api.InitResponse, error) {
	c, err := s.Client("")
	if err != nil {
		return nil, err
	}
	resp, err := c.Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: shares, SecretThreshold: threshold})
	if err != nil {
		return nil, c.Classify(err, "initialising", s.Addr)
	}
	return resp, nil
}

// Join makes the server, started uninitialised, a member of leader's raft
// cluster (leaderCACert is the PEM file of the CA of leader's certificate);
// Unseal then makes it a standby.
func (s *Server) Join(ctx context.Context, leaderAddr, leaderCACert string) error {
	ca, err := os.ReadFile(leaderCACert)
	if err != nil {
		return err
	}
	c, err := s.Client("")
	if err != nil {
		return err
	}
	if _, err := c.Sys().RaftJoinWithContext(ctx, &api.RaftJoinRequest{LeaderAPIAddr: leaderAddr, LeaderCACert: string(ca)}); err != nil {
		return fmt.Errorf("joining %s: %w", leaderAddr, err)
	}
	s.standby = true
	return nil
}

// Unseal unseals the server through lib/unseal and waits until it is the
// active node, or a standby when it joined a cluster. It reports how many
// shares it submitted.
func (s *Server) Unseal(ctx context.Context, shares []string) (int, error) {
	c, err := s.Client("")
	if err != nil {
		return 0, err
	}
	to := unseal.ToActive
	if s.standby {
		to = unseal.ToStandby
	}
	res, err := to(ctx, c, shares)
	if res == nil {
		return 0, err
	}
	return res.Submitted, err
}

// Wait calls ok every 100ms until it returns nil, ctx is done or the
// server exits.
func (s *Server) Wait(ctx context.Context, what string, ok func() error) error {
	exited := s.Exited()
	var err error
	for {
		if err = ok(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %v", what, err)
		case <-exited:
			return fmt.Errorf("vault exited while waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Exited is closed when the server process has exited (at once when it is
// not running).
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.proc.Exited()
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	select {
	case <-s.Exited():
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

// Stop stops the server gracefully (SIGTERM; SIGKILL after 20s) and waits
// for it to exit.
func (s *Server) Stop() { s.end((*Process).Stop) }

// Kill kills the server (SIGKILL) without giving it a chance to clean up.
func (s *Server) Kill() { s.end((*Process).Kill) }

func (s *Server) end(how func(*Process)) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		how(p)
	}
}

// Restart stops the server and starts it again on the same ports and data;
// it comes up sealed.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	return s.Start(ctx)
}

// Close stops the server and removes its directory if New made it.
func (s *Server) Close() error {
	s.Stop()
	if s.dirFD != nil {
		s.dirFD.Close()
		s.dirFD = nil
	}
	if s.ownDir {
		return os.RemoveAll(s.Dir)
	}
	return nil
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string { return logTail(s.LogPath, n) }

// WithLog returns err followed by the last lines of the server log, for
// errors a reader can only understand with it.
func (s *Server) WithLog(err error) error {
	tail := s.LogTail(15)
	if err == nil || tail == "" {
		return err
	}
	return fmt.Errorf("%w\nlast lines of its log:\n%s", err, tail)
}
