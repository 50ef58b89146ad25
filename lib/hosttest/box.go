package hosttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DirPrefix starts the name of every box's temporary directory; Leftovers
// and .ci/run look for it.
const DirPrefix = "vaultpipe-box-"

// Config describes a box.
type Config struct {
	// Name is the hostname (and nspawn machine name); default "vps".
	Name string
	// Copy maps host paths (files or directories) to absolute paths inside
	// the box; they are copied before the first boot.
	Copy map[string]string
	// BindRO maps host paths to absolute paths inside the box, mounted
	// read-only on every boot (for large files such as the Vault binary).
	BindRO map[string]string
	// Net, if not nil, is a network namespace (NewNet) the box shares with
	// other boxes instead of having its own: each listens on its own
	// 127.0.0.x address of that namespace's loopback.
	Net *Net
	// Addr is the box's address in /etc/hosts (default 127.0.1.1).
	Addr string
	// Logf, if not nil, receives progress (box started, booted, stopped).
	Logf func(string, ...any)
}

// Net is a network namespace made for boxes: only its loopback interface is
// up, so boxes in it reach each other on 127.0.0.0/8 and nothing else.
type Net struct {
	Name string // under /run/netns
}

// NetPrefix starts the name of every namespace NewNet makes.
const NetPrefix = "vp-box-"

// NewNet creates a network namespace with its loopback up.
func NewNet(ctx context.Context) (*Net, error) {
	n := &Net{Name: UniqueName(NetPrefix + "net")}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", n.Name, err, out)
	}
	if out, err := exec.CommandContext(ctx, "ip", "-n", n.Name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		n.Close()
		return nil, fmt.Errorf("ip -n %s link set lo up: %v: %s", n.Name, err, out)
	}
	return n, nil
}

// Close deletes the namespace (after its boxes are closed).
func (n *Net) Close() error {
	if out, err := exec.Command("ip", "netns", "delete", n.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %v: %s", n.Name, err, out)
	}
	return nil
}

// Box is a running (or powered-off) Debian host.
type Box struct {
	cfg   Config
	dir   string // temporary directory: upper/ (the box's disk), work/, root/, console.log
	lower string // the cached root, read-only
	root  string // where the overlay is mounted, in nspawn's mount namespace only

	mu     sync.Mutex
	nspawn *exec.Cmd
	exited chan struct{}
	pid1   int
	closed bool
}

// Path is the PATH of commands run in a box: vaultpipe's binaries first.
const Path = "/opt/vaultpipe/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var liveMu sync.Mutex
var live = map[*Box]bool{}
var started []*Box

// Start unpacks the cached root into a new temporary directory, copies
// cfg.Copy in and boots it. The box must be closed (Close) whatever happens.
func Start(ctx context.Context, cfg Config) (*Box, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "vps"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	lower, err := lowerDir(ctx, cfg.Logf)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", DirPrefix+cfg.Name+"-")
	if err != nil {
		return nil, err
	}
	b := &Box{cfg: cfg, dir: dir, lower: lower, root: filepath.Join(dir, "root")}
	liveMu.Lock()
	live[b] = true
	started = append(started, b)
	liveMu.Unlock()
	fail := func(err error) (*Box, error) {
		b.Close()
		return nil, err
	}
	for _, d := range []string{"root", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return fail(err)
		}
	}
	// Copies land in the overlay's upper layer: the box's own disk.
	disk := filepath.Join(dir, "upper")
	start := time.Now()
	// The box's own name (debootstrap copied the host's /etc/hostname), resolvable
	// without DNS.
	if cfg.Addr == "" {
		cfg.Addr = "127.0.1.1"
	}
	identity := map[string]string{
		"etc/hostname": cfg.Name + "\n",
		"etc/hosts":    "127.0.0.1 localhost\n" + cfg.Addr + " " + cfg.Name + "\n::1 localhost\n",
	}
	for name, content := range identity {
		os.MkdirAll(filepath.Join(disk, "etc"), 0o755)
		if err := os.WriteFile(filepath.Join(disk, name), []byte(content), 0o644); err != nil {
			return fail(err)
		}
	}
	for src, dst := range cfg.Copy {
		target := filepath.Join(disk, dst)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fail(err)
		}
		// cp -a of src/. merges a directory into dst; a file is copied as dst.
		from := src
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			from = src + "/."
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fail(err)
			}
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", "-L", from, target).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("copying %s into the box: %v\n%s", src, err, out))
		}
	}
	for _, dst := range cfg.BindRO {
		// nspawn needs the mount point to exist.
		target := filepath.Join(disk, dst)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fail(err)
		}
		if f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o755); err == nil {
			f.Close()
		}
	}
	cfg.Logf("hosttest: %s prepared in %s", cfg.Name, time.Since(start).Round(time.Millisecond))
	if err := b.Boot(ctx); err != nil {
		return fail(err)
	}
	return b, nil
}

// Dir is the box's temporary directory (its disk is Dir()/root).
func (b *Box) Dir() string { return b.dir }

// Name is the box's hostname.
func (b *Box) Name() string { return b.cfg.Name }

// Boot starts systemd in the box and waits until it is running (or
// degraded, which is an error naming the failed units). Start boots; call
// Boot again only after PowerOff.
func (b *Box) Boot(ctx context.Context) error {
	b.mu.Lock()
	if b.nspawn != nil {
		b.mu.Unlock()
		return errors.New("the box is already running")
	}
	start := time.Now()
	console, err := os.OpenFile(filepath.Join(b.dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	args := []string{
		"--quiet", "-D", b.root, "-M", b.cfg.Name,
		"--register=no", "--keep-unit",
		"--resolv-conf=off", "--timezone=off", "--link-journal=no",
		"--console=pipe", "-b",
	}
	if b.cfg.Net != nil {
		args = append(args, "--network-namespace-path=/run/netns/"+b.cfg.Net.Name)
	} else {
		args = append(args, "--private-network")
	}
	for src, dst := range b.cfg.BindRO {
		args = append(args, "--bind-ro="+src+":"+dst)
	}
	// The overlay (cached root below, the box's disk above) is mounted in a
	// mount namespace of its own that ends with systemd-nspawn: no mount
	// can outlive the box, whatever happens to this process.
	overlay := fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", b.lower, b.dir, b.dir)
	script := `mount -t overlay overlay -o "$1" "$2" && shift 2 && exec systemd-nspawn "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--",
		"sh", "-c", script, "sh", overlay, b.root}, args...)...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = console, console
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SYSTEMD_LOG_LEVEL=warning"}
	// Its own process group, so that a Ctrl-C of the test reaches us first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		console.Close()
		b.mu.Unlock()
		return fmt.Errorf("starting systemd-nspawn: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); console.Close(); close(exited) }()
	b.nspawn, b.exited, b.pid1 = cmd, exited, 0
	b.mu.Unlock()

	pid1, err := b.waitPID1(ctx, cmd.Process.Pid, exited)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.pid1 = pid1
	b.mu.Unlock()
	// is-system-running --wait returns once boot is over (running or
	// degraded); before systemd listens on its socket it fails at once.
	var state string
	for i := 0; ; i++ {
		out, err := b.Output(ctx, "", "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(out)
		if (state != "" && state != "offline") || i == 300 {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("systemd-nspawn exited while the box booted (%v):\n%s", err, tail(filepath.Join(b.dir, "console.log"), 30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if state != "running" {
		failed, _ := b.Output(ctx, "", "systemctl", "--failed", "--no-legend", "--plain")
		return fmt.Errorf("box %s booted %q; failed units:\n%s\nconsole:\n%s",
			b.cfg.Name, state, failed, tail(filepath.Join(b.dir, "console.log"), 20))
	}
	b.cfg.Logf("hosttest: %s booted in %s", b.cfg.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

// waitPID1 finds the box's PID 1: systemd, the child of systemd-nspawn, in
// its own PID namespace.
func (b *Box) waitPID1(ctx context.Context, nspawn int, exited <-chan struct{}) (int, error) {
	self, _ := os.Readlink("/proc/self/ns/pid")
	deadline := time.After(60 * time.Second)
	for {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", nspawn, nspawn))
		for _, f := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(f)
			ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if ns != "" && ns != self && strings.TrimSpace(string(comm)) == "systemd" {
				return pid, nil
			}
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("systemd-nspawn exited before the box booted:\n%s", tail(filepath.Join(b.dir, "console.log"), 30))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-deadline:
			return 0, errors.New("the box's systemd did not start within 60s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Cmd is a command to run inside a box.
type Cmd struct {
	// User runs it as this user (runuser); empty is root.
	User string
	Args []string
	// Env adds KEY=VALUE pairs to the minimal environment (PATH, HOME, LANG).
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// ExitError is a command of the box that ran and exited non-zero.
type ExitError struct {
	Args []string
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited with status %d", strings.Join(e.Args, " "), e.Code)
}

// Command returns the host command line (nsenter first) that runs c.Args
// in the box as c.User, for callers that run it themselves; Exec runs it.
func (b *Box) Command(c Cmd) ([]string, error) {
	b.mu.Lock()
	pid1 := b.pid1
	b.mu.Unlock()
	if pid1 == 0 {
		return nil, fmt.Errorf("box %s is not running", b.cfg.Name)
	}
	if len(c.Args) == 0 {
		return nil, errors.New("no command")
	}
	args := []string{"nsenter", "-t", strconv.Itoa(pid1), "-a", "--", "/usr/bin/env", "-i",
		"PATH=" + Path, "LANG=C.UTF-8", "TERM=dumb"}
	if c.User == "" || c.User == "root" {
		args = append(args, "HOME=/root", "USER=root")
		args = append(args, c.Env...)
		args = append(args, c.Args...)
	} else {
		args = append(args, c.Env...)
		args = append(args, "runuser", "-u", c.User, "--")
		args = append(args, c.Args...)
	}
	return args, nil
}

// Exec runs c in the box, in every namespace of its PID 1 (nsenter -a), with
// a clean environment: nothing of the test's environment leaks in.
func (b *Box) Exec(ctx context.Context, c Cmd) error {
	argv, err := b.Command(c)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return &ExitError{Args: c.Args, Code: ee.ExitCode()}
	}
	return err
}

// Output runs args as user (empty: root) and returns stdout; stderr is
// added to the error when it fails.
func (b *Box) Output(ctx context.Context, user string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := b.Exec(ctx, Cmd{User: user, Args: args, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ReadFile returns a file's content as the box sees it (its /run and
// /tmp are its own tmpfs, which the host directory does not show).
func (b *Box) ReadFile(ctx context.Context, path string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	if err := b.Exec(ctx, Cmd{Args: []string{"cat", "--", path}, Stdout: &stdout, Stderr: &stderr}); err != nil {
		return nil, fmt.Errorf("reading %s in box %s: %v: %s", path, b.cfg.Name, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// WriteFile writes data to path in the box (parent directories created)
// with mode perm, owned by root.
func (b *Box) WriteFile(ctx context.Context, path string, data []byte, perm os.FileMode) error {
	var stderr bytes.Buffer
	script := `umask 077; mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"`
	err := b.Exec(ctx, Cmd{Args: []string{"sh", "-c", script, "sh", path, fmt.Sprintf("%o", perm)},
		Stdin: bytes.NewReader(data), Stderr: &stderr})
	if err != nil {
		return fmt.Errorf("writing %s in box %s: %v: %s", path, b.cfg.Name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Journal returns the journal of this boot (of units, if given), or a line
// saying why it could not be read.
func (b *Box) Journal(ctx context.Context, lines int, units ...string) string {
	args := []string{"journalctl", "--no-pager", "-o", "short-precise", "-b", "-n", strconv.Itoa(lines)}
	for _, u := range units {
		args = append(args, "-u", u)
	}
	out, err := b.Output(ctx, "", args...)
	if err != nil {
		return fmt.Sprintf("(journal of box %s unavailable: %v)\n%s", b.cfg.Name, err, out)
	}
	return out
}

// PowerOff shuts the box down cleanly (systemctl poweroff) and waits for it
// to stop; its disk stays for Boot.
func (b *Box) PowerOff(ctx context.Context) error {
	b.mu.Lock()
	exited := b.exited
	b.mu.Unlock()
	if exited == nil {
		return nil
	}
	// The command may lose its connection as systemd goes down.
	_ = b.Exec(ctx, Cmd{Args: []string{"systemctl", "--no-block", "poweroff"}})
	select {
	case <-exited:
	case <-time.After(90 * time.Second):
		return b.stop()
	case <-ctx.Done():
		b.stop()
		return ctx.Err()
	}
	b.mu.Lock()
	b.nspawn, b.exited, b.pid1 = nil, nil, 0
	b.mu.Unlock()
	return nil
}

// Reboot powers the box off and boots it again on the same disk.
func (b *Box) Reboot(ctx context.Context) error {
	if err := b.PowerOff(ctx); err != nil {
		return err
	}
	return b.Boot(ctx)
}

// stop ends systemd-nspawn: SIGTERM (a clean halt of the box), again after
// 30s, then SIGKILL; it returns once the process is gone.
func (b *Box) stop() error {
	b.mu.Lock()
	cmd, exited := b.nspawn, b.exited
	b.nspawn, b.exited, b.pid1 = nil, nil, 0
	b.mu.Unlock()
	if cmd == nil {
		return nil
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, 30 * time.Second}, {syscall.SIGTERM, 10 * time.Second}, {syscall.SIGKILL, 10 * time.Second}} {
		cmd.Process.Signal(step.sig)
		select {
		case <-exited:
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("systemd-nspawn (pid %d) of box %s did not exit", cmd.Process.Pid, b.cfg.Name)
}

// Close stops the box and removes its directory. It is safe to call twice.
func (b *Box) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	err := b.stop()
	if err == nil {
		err = os.RemoveAll(b.dir)
	}
	liveMu.Lock()
	delete(live, b)
	liveMu.Unlock()
	return err
}

// CloseAll closes every box this process started and has not closed (for
// TestMain, after m.Run), and returns what any box it ever started left
// behind (processes, mounts, directories): empty means clean.
func CloseAll() []string {
	liveMu.Lock()
	boxes := make([]*Box, 0, len(live))
	for b := range live {
		boxes = append(boxes, b)
	}
	all := started
	liveMu.Unlock()
	for _, b := range boxes {
		b.Close()
	}
	var found []string
	for _, b := range all {
		found = append(found, b.Leftovers()...)
	}
	return found
}

// Leftovers lists what boxes left on this host: systemd-nspawn processes,
// mounts and temporary directories of box directories, and veth links
// (ve-vp…/vb-vp…). Empty means clean. Boxes other processes are running
// count too: call it when no test runs (.ci/run does the same in shell).
func Leftovers() []string {
	found := leftovers(DirPrefix)
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), DirPrefix+"*"))
	for _, d := range dirs {
		found = append(found, "directory: "+d)
	}
	if links, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, l := range links {
			if n := l.Name(); strings.HasPrefix(n, "ve-vp") || strings.HasPrefix(n, "vb-vp") {
				found = append(found, "link: "+n)
			}
		}
	}
	nets, _ := filepath.Glob("/run/netns/" + NetPrefix + "*")
	for _, n := range nets {
		found = append(found, "network namespace: "+n)
	}
	return found
}

// Leftovers lists what this box left behind once closed: processes,
// mounts, its directory.
func (b *Box) Leftovers() []string {
	found := leftovers(b.dir)
	if _, err := os.Stat(b.dir); err == nil {
		found = append(found, "directory: "+b.dir)
	}
	return found
}

func leftovers(mark string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if filepath.Base(argv[0]) == "systemd-nspawn" && strings.Contains(string(data), mark) {
			found = append(found, "process "+filepath.Base(filepath.Dir(p))+": "+strings.Join(argv, " "))
		}
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, mark) {
				found = append(found, "mount: "+line)
			}
		}
	}
	return found
}

// UniqueName returns prefix followed by a short random suffix, for
// hostnames of boxes that run at the same time.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%04x", prefix, rand.IntN(1<<16))
}
