// Package installtest holds test helpers for vault-install: it starts Vault
// servers from the configuration files vault-install writes, as the current
// user and tied to the test process (parent-death signal), and makes and
// uses throwaway OpenPGP keys for key shares.
package installtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Proc is a running vault server.
type Proc struct {
	Config  string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	once    sync.Once
}

// The parent-death signal fires when the forking thread exits, so every
// server is forked from one goroutine locked to its thread for good.
var (
	spawnOnce sync.Once
	spawnReq  chan func()
)

func spawn(f func()) {
	spawnOnce.Do(func() {
		spawnReq = make(chan func())
		go func() {
			runtime.LockOSThread()
			for f := range spawnReq {
				f()
			}
		}()
	})
	done := make(chan struct{})
	spawnReq <- func() { f(); close(done) }
	<-done
}

var (
	liveMu sync.Mutex
	live   = map[*Proc]bool{}
)

// Start runs `binary server -config=config` with a clean environment,
// appending its output to logPath.
func Start(binary, config, logPath string) (*Proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "server", "-config="+config)
	cmd.Env = []string{"HOME=" + os.TempDir(), "PATH=/usr/bin:/bin", "VAULT_LOG_FORMAT=standard"}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	var startErr error
	spawn(func() { startErr = cmd.Start() })
	lf.Close()
	if startErr != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, startErr)
	}
	p := &Proc{Config: config, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	liveMu.Lock()
	live[p] = true
	liveMu.Unlock()
	return p, nil
}

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Kill kills the server and its process group and waits for it.
func (p *Proc) Kill() {
	p.once.Do(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
		}
		liveMu.Lock()
		delete(live, p)
		liveMu.Unlock()
	})
}

// KillAll kills every server still running (TestMain's last line of defence).
func KillAll() {
	liveMu.Lock()
	var ps []*Proc
	for p := range live {
		ps = append(ps, p)
	}
	liveMu.Unlock()
	for _, p := range ps {
		p.Kill()
	}
}

// LogTail returns the last n lines of the server log.
func (p *Proc) LogTail(n int) string {
	data, _ := os.ReadFile(p.LogPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Key is a throwaway OpenPGP key pair.
type Key struct{ Entity *openpgp.Entity }

// NewKey makes a key for name. Curve25519 keeps generation instant.
func NewKey(name string) (*Key, error) {
	e, err := openpgp.NewEntity(name, "share holder", name+"@example.invalid",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		return nil, err
	}
	return &Key{Entity: e}, nil
}

// Public returns the armored public key.
func (k *Key) Public() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := k.Entity.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Private returns the armored private key.
func (k *Key) Private() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := k.Entity.SerializePrivate(w, nil); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadPrivate parses an armored private key.
func ReadPrivate(data []byte) (*Key, error) {
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		return nil, errors.New("want exactly one private key")
	}
	return &Key{Entity: el[0]}, nil
}

// DecryptB64 decrypts what Vault returns for a PGP-encrypted share or root
// token: base64 of a binary OpenPGP message.
func (k *Key) DecryptB64(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", err
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(raw), openpgp.EntityList{k.Entity}, nil, nil)
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
