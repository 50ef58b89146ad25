package localvault

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// A Unix-listener server is started through this package's own binary
// (/proc/self/exe) in new user, network and mount namespaces: the child
// covers the private directories with its own, then execs vault. Only that
// step runs between clone and exec, and os/exec cannot run code there, so
// the binary re-enters itself with isolateEnv set; init below catches it
// before main.
const isolateEnv = "LOCALVAULT_ISOLATE"

// isolation is what the re-entered child does before it becomes vault.
type isolation struct {
	Binary string            `json:"binary"`
	Args   []string          `json:"args"`
	Cover  map[string]string `json:"cover"` // directory → the server's own
}

func (s *Server) isolation() (*isolation, error) {
	iso := &isolation{Cover: map[string]string{}}
	for i, d := range s.o.PrivateDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		own := filepath.Join(s.Dir, "private", strconv.Itoa(i))
		if err := os.MkdirAll(own, 0o700); err != nil {
			return nil, err
		}
		iso.Cover[abs] = own
	}
	return iso, nil
}

// apply turns cmd (binary server -config=…) into the re-entry that sets up
// the namespaces and then execs it.
func (iso *isolation) apply(cmd *exec.Cmd) error {
	bin, err := filepath.Abs(cmd.Path)
	if err != nil {
		return err
	}
	iso.Binary, iso.Args = bin, cmd.Args
	spec, err := json.Marshal(iso)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to start the server in namespaces of its own: %w", err)
	}
	cmd.Path, cmd.Args = self, []string{"localvault-isolate"}
	cmd.Env = append(cmd.Env, isolateEnv+"="+string(spec))
	// Root inside the new user namespace (mapped to the caller) keeps the
	// capabilities to mount there across exec; they reach nothing outside.
	uid, gid := os.Getuid(), os.Getgid()
	a := cmd.SysProcAttr
	a.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWNS
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	a.GidMappingsEnableSetgroups = false
	return nil
}

func init() {
	spec := os.Getenv(isolateEnv)
	if spec == "" {
		return
	}
	err := enter(spec)
	fmt.Fprintf(os.Stderr, "localvault: error: %v\n", err)
	os.Exit(1)
}

// enter runs in the re-entered child: it covers the private directories
// and execs the server; it returns only on failure.
func enter(spec string) error {
	var iso isolation
	if err := json.Unmarshal([]byte(spec), &iso); err != nil {
		return fmt.Errorf("reading the isolation spec: %w", err)
	}
	private := false
	for dir, own := range iso.Cover {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || emptyTmpfs(dir) {
			// Nothing there to protect, or already private: the unit's
			// TemporaryFileSystem=, whose seccomp filter forbids mount.
			continue
		}
		if !private {
			// Nothing mounted here may propagate back to the host.
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("making mounts private: %w", err)
			}
			private = true
		}
		if err := unix.Mount(own, dir, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("covering %s with the server's own directory: %w", dir, err)
		}
	}
	env := []string{}
	for _, e := range os.Environ() {
		if len(e) < len(isolateEnv)+1 || e[:len(isolateEnv)+1] != isolateEnv+"=" {
			env = append(env, e)
		}
	}
	return fmt.Errorf("starting %s: %w", iso.Binary, syscall.Exec(iso.Binary, iso.Args, env))
}

// emptyTmpfs reports whether dir is an empty tmpfs: a mount of this
// process's own (systemd's TemporaryFileSystem=), with nothing to protect.
func emptyTmpfs(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil || st.Type != unix.TMPFS_MAGIC {
		return false
	}
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}
