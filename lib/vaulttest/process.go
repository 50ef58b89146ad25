package vaulttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vaultpipe/vaultpipe/lib/localvault"
)

// Process is a vault server process of lib/localvault, tracked so that
// KillAll ends it.
type Process struct{ *localvault.Process }

// StartProcess runs `binary server -config=config` with lib/localvault,
// appending its output to logPath. It does not wait for the server to
// answer.
func StartProcess(binary, config, logPath string) (*Process, error) {
	lp, err := localvault.StartProcess(binary, config, logPath)
	if err != nil {
		return nil, err
	}
	p := &Process{lp}
	liveMu.Lock()
	liveProcs[p] = true
	liveMu.Unlock()
	return p, nil
}

// Stop sends SIGTERM to the process group and waits for the exit; after 20
// seconds it kills it.
func (p *Process) Stop() { p.Process.Stop(); p.forget() }

// Kill kills the process group at once and waits for the exit.
func (p *Process) Kill() { p.Process.Kill(); p.forget() }

func (p *Process) forget() {
	liveMu.Lock()
	delete(liveProcs, p)
	liveMu.Unlock()
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(n int) ([]int, error) { return localvault.FreePorts(n) }

var (
	liveMu      sync.Mutex
	liveServers = map[*Server]bool{}
	liveProcs   = map[*Process]bool{}
)

func registerLive(s *Server)   { liveMu.Lock(); liveServers[s] = true; liveMu.Unlock() }
func unregisterLive(s *Server) { liveMu.Lock(); delete(liveServers, s); liveMu.Unlock() }

// KillAll kills every server and process this test binary started and has
// not stopped. TestMain functions call it after m.Run as a second line of
// defence.
func KillAll() {
	liveMu.Lock()
	var ss []*Server
	for s := range liveServers {
		ss = append(ss, s)
	}
	var ps []*Process
	for p := range liveProcs {
		ps = append(ps, p)
	}
	liveMu.Unlock()
	for _, s := range ss {
		s.Close()
	}
	for _, p := range ps {
		p.Kill()
	}
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary returns the path of the Vault server binary: $VAULT_BINARY, or what
// scripts/vault-binary prints (building and caching Vault if needed).
func Binary() (string, error) {
	binaryOnce.Do(func() {
		if p := os.Getenv("VAULT_BINARY"); p != "" {
			binaryPath = p
			return
		}
		root, err := RepoRoot()
		if err != nil {
			binaryErr = err
			return
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(root, "scripts", "vault-binary"))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			binaryErr = fmt.Errorf("scripts/vault-binary: %v\n%s", err, stderr.String())
			return
		}
		binaryPath = strings.TrimSpace(stdout.String())
	})
	return binaryPath, binaryErr
}

// RepoRoot returns the directory of vaultpipe's go.mod, searching upwards
// from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/vaultpipe/vaultpipe\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("vaultpipe's go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildCommand builds vaultpipe's cmd/<name> into dir (for benchmarks that
// drive a binary as users do) and returns the binary's path.
func BuildCommand(dir, name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/"+name)
	build.Dir, build.Stderr = root, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", name, err)
	}
	return filepath.Join(dir, name), nil
}

// Bench is what a benchmark that drives a vaultpipe binary against a real
// server sets up: a scratch directory holding the binary, the Vault binary
// its reference runs, and a server.
type Bench struct {
	Dir, Tool, VaultBinary string
	Server                 *Server
}

// NewBench builds cmd/<name> into a new scratch directory and launches a
// server. Close removes both.
func NewBench(name string) (*Bench, error) {
	dir, err := os.MkdirTemp("", "bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	b := &Bench{Dir: dir}
	if b.Tool, err = BuildCommand(dir, name); err == nil {
		if b.VaultBinary, err = Binary(); err == nil {
			b.Server, err = Launch(Options{})
		}
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close stops the server and removes the scratch directory.
func (b *Bench) Close() {
	if b.Server != nil {
		b.Server.Close()
	}
	os.RemoveAll(b.Dir)
}
