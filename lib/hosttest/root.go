package hosttest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Suite is the Debian release of every box.
const Suite = "bookworm"

// Packages are installed into the root on top of debootstrap's minbase:
// systemd as PID 1, and what vaultpipe's units and scripts call.
var Packages = []string{
	"systemd", "systemd-sysv", "dbus", "ca-certificates", "iproute2", "procps",
	"gnupg", "jq", "openssl", "curl", "less",
}

// rootFormat changes when the post-debootstrap preparation changes, so that
// cached roots made by older code are not reused.
const rootFormat = "3"

// Available says why boxes cannot run here, or nil when they can.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("systemd-nspawn boxes need root (debootstrap, namespaces, mounts)")
	}
	for _, tool := range []string{"systemd-nspawn", "debootstrap", "nsenter", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (scripts/test-deps installs debootstrap and systemd-container)", tool)
		}
	}
	return nil
}

// CacheDir is where cached roots live: ${XDG_CACHE_HOME:-~/.cache}/vaultpipe/hosttest.
func CacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "vaultpipe", "hosttest"), nil
}

// rootKey names a root by what went into it.
func rootKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "format %s\nsuite %s\nvariant minbase\n", rootFormat, Suite)
	for _, p := range Packages {
		fmt.Fprintf(h, "package %s\n", p)
	}
	return Suite + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Root returns the path of the cached root tarball, building it first when
// it is missing (debootstrap from the Debian mirror apt uses; about a
// minute). Concurrent callers, in this process or others, wait for one build;
// the tarball appears atomically (temporary file, then rename). logf, if not
// nil, receives progress.
func Root(ctx context.Context, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	tarball := filepath.Join(dir, rootKey()+".tar")
	if _, err := os.Stat(tarball); err == nil {
		return tarball, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	logf("hosttest: waiting for the root build lock %s", lock.Name())
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(tarball); err == nil { // built while we waited
		return tarball, nil
	}
	start := time.Now()
	if err := buildRoot(ctx, dir, tarball, logf); err != nil {
		return "", err
	}
	logf("hosttest: built %s in %s", tarball, time.Since(start).Round(time.Second))
	return tarball, nil
}

func buildRoot(ctx context.Context, dir, tarball string, logf func(string, ...any)) error {
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")
	mirror, err := DebianMirror()
	if err != nil {
		return err
	}
	logf("hosttest: debootstrap %s from %s with %s", Suite, mirror, strings.Join(Packages, ","))
	log := filepath.Join(work, "debootstrap.log")
	if err := runLogged(ctx, log, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(Packages, ","), Suite, root, mirror); err != nil {
		return fmt.Errorf("debootstrap: %w\n%s", err, tail(log, 30))
	}
	if err := prepareRoot(root, mirror); err != nil {
		return fmt.Errorf("preparing the root: %w", err)
	}
	tmp := tarball + ".tmp"
	if err := runLogged(ctx, log, "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"-C", root, "-cf", tmp, "."); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("packing the root: %w\n%s", err, tail(log, 30))
	}
	// The unpacked root is kept too (lowerDir), saving an unpack.
	unpacked := strings.TrimSuffix(tarball, ".tar")
	os.RemoveAll(unpacked)
	if err := os.Rename(root, unpacked); err != nil {
		return err
	}
	return os.Rename(tmp, tarball)
}

// lowerDir returns the cached root unpacked once (next to its tarball),
// the read-only lower layer of every box's overlay.
func lowerDir(ctx context.Context, logf func(string, ...any)) (string, error) {
	tarball, err := Root(ctx, logf)
	if err != nil {
		return "", err
	}
	dir := strings.TrimSuffix(tarball, ".tar")
	if _, err := os.Stat(filepath.Join(dir, "etc/os-release")); err == nil {
		return dir, nil
	}
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(dir), ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, "etc/os-release")); err == nil {
		return dir, nil
	}
	start := time.Now()
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"-C", tmp, "-xf", tarball).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpacking %s: %v\n%s", tarball, err, out)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	logf("hosttest: unpacked %s in %s", dir, time.Since(start).Round(time.Millisecond))
	return dir, nil
}

// prepareRoot makes a debootstrapped root boot quickly and quietly in a box.
func prepareRoot(root, mirror string) error {
	files := map[string]string{
		"etc/apt/sources.list": fmt.Sprintf("deb %s %s main\n", mirror, Suite),
		// The box has only loopback; nothing to resolve.
		"etc/hosts": "127.0.0.1 localhost\n::1 localhost\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// Units that wait for hardware or a network a box does not have, and
	// systemd-remount-fs, which has no fstab to apply to a root the box
	// harness mounted (it failed a box's boot once, with others booting).
	for _, unit := range []string{
		"systemd-networkd-wait-online.service", "systemd-timesyncd.service", "systemd-remount-fs.service",
		"apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer",
	} {
		link := filepath.Join(root, "etc/systemd/system", unit)
		os.Remove(link)
		if err := os.Symlink("/dev/null", link); err != nil {
			return err
		}
	}
	for _, dir := range []string{"var/lib/apt/lists", "var/cache/apt/archives"} {
		entries, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range entries {
			if e.Type().IsRegular() {
				os.Remove(filepath.Join(root, dir, e.Name()))
			}
		}
	}
	return nil
}

// DebianMirror is the Debian mirror apt uses on this machine
// ($VAULTPIPE_DEBIAN_MIRROR overrides it), from /etc/apt/sources.list.d/*.sources
// or /etc/apt/sources.list.
func DebianMirror() (string, error) {
	if m := os.Getenv("VAULTPIPE_DEBIAN_MIRROR"); m != "" {
		return m, nil
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		if m := mirrorFromDeb822(f); m != "" {
			return m, nil
		}
	}
	files, _ = filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, f := range append([]string{"/etc/apt/sources.list"}, files...) {
		if m := mirrorFromList(f); m != "" {
			return m, nil
		}
	}
	return "", errors.New("no Debian mirror found in /etc/apt/sources.list*; set VAULTPIPE_DEBIAN_MIRROR")
}

// mirrorFromDeb822 returns the first URI of a stanza whose Suites include Suite.
func mirrorFromDeb822(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, stanza := range strings.Split(string(data), "\n\n") {
		var uris, suites []string
		for _, line := range strings.Split(stanza, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "uris":
				uris = strings.Fields(v)
			case "suites":
				suites = strings.Fields(v)
			}
		}
		for _, s := range suites {
			if s == Suite && len(uris) > 0 {
				return uris[0]
			}
		}
	}
	return ""
}

// mirrorFromList returns the URI of the first "deb URI Suite …" line.
func mirrorFromList(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// deb [options] uri suite components...
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		if strings.HasPrefix(fields[0], "[") {
			for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
				fields = fields[1:]
			}
			if len(fields) > 0 {
				fields = fields[1:]
			}
		}
		if len(fields) >= 2 && fields[1] == Suite {
			return fields[0]
		}
	}
	return ""
}

func runLogged(ctx context.Context, log string, name string, args ...string) error {
	out, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
