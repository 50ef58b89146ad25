package localvault

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The parent-death signal fires when the thread that forked the child exits,
// not the process. All servers are therefore forked from one goroutine
// locked to its thread for the life of the process.
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

// Process is a vault server process started from a configuration file,
// with a clean environment, its output appended to a log file, in a process
// group of its own, and killed when its parent dies.
type Process struct {
	Config  string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	once    sync.Once
}

// StartProcess runs `binary server -config=config`, appending its output to
// logPath. It does not wait for the server to answer.
func StartProcess(binary, config, logPath string) (*Process, error) {
	return startProcess(binary, config, logPath, nil)
}

func startProcess(binary, config, logPath string, iso *isolation) (*Process, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer lf.Close() // the child keeps its own descriptor
	cmd := exec.Command(binary, "server", "-config="+config)
	cmd.Dir = filepath.Dir(config)
	// A clean environment: no VAULT_* variable of the caller may leak in.
	cmd.Env = []string{"HOME=" + cmd.Dir, "PATH=/usr/bin:/bin", "VAULT_LOG_FORMAT=standard"}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if iso != nil {
		if err := iso.apply(cmd); err != nil {
			return nil, err
		}
	}
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	p := &Process{Config: config, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM to the process group and waits for the exit; after 20
// seconds it kills it.
func (p *Process) Stop() { p.end(syscall.SIGTERM) }

// Kill kills the process group at once and waits for the exit.
func (p *Process) Kill() { p.end(syscall.SIGKILL) }

func (p *Process) end(sig syscall.Signal) {
	p.once.Do(func() {
		syscall.Kill(-p.cmd.Process.Pid, sig)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
}

// LogTail returns the last n lines of the process's log.
func (p *Process) LogTail(n int) string { return logTail(p.LogPath, n) }

func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
