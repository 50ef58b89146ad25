package vaulttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// The parent-death signal fires when the thread that forked the child exits,
// not the process. All servers are therefore forked from one goroutine
// locked to its thread for the life of the test binary.
var (
	spawnOnce sync.Once
	spawnReq  chan spawnRequest
)

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives until exit
			for r := range spawnReq {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnReq <- spawnRequest{cmd, done}
	return <-done
}

var (
	liveMu sync.Mutex
	live   = map[*Server]bool{}
)

func registerLive(s *Server)   { liveMu.Lock(); live[s] = true; liveMu.Unlock() }
func unregisterLive(s *Server) { liveMu.Lock(); delete(live, s); liveMu.Unlock() }

// KillAll kills every server this process started and has not stopped.
// TestMain functions call it after m.Run as a second line of defence.
func KillAll() {
	liveMu.Lock()
	var ss []*Server
	for s := range live {
		ss = append(ss, s)
	}
	liveMu.Unlock()
	for _, s := range ss {
		s.Close()
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
