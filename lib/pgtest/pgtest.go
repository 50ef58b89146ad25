// Package pgtest starts throwaway PostgreSQL clusters for tests, from
// Debian's postgresql package: initdb into a temporary directory, then the
// server on a free 127.0.0.1 port, run as the postgres user when the test
// runs as root (the server refuses to run as root), with scram-sha-256
// password authentication.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"

	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

// Server is a running cluster. Password is the superuser's, generated.
type Server struct {
	Port     int
	User     string
	Password string
	Dir      string
	bin      string
	runAs    []string
}

// Bin finds the server binaries (/usr/lib/postgresql/<version>/bin).
func Bin() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
	}
	sort.Strings(found)
	return filepath.Dir(found[len(found)-1]), nil
}

// Start initialises and starts a cluster; Close stops it and removes its
// files.
func Start() (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s := &Server{Dir: dir, bin: bin, Password: "pg-" + hex.EncodeToString(b), User: "postgres"}
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("no postgres user to run the server as: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	} else if u, err := user.Current(); err == nil {
		s.User = u.Username
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	if uid >= 0 {
		_ = os.Chown(pwfile, uid, gid)
	}
	data := filepath.Join(dir, "data")
	if err := s.run(filepath.Join(bin, "initdb"), "-D", data, "-U", s.User, "--pwfile", pwfile,
		"--auth=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		s.Close()
		return nil, err
	}
	os.Remove(pwfile)
	for attempt := 0; ; attempt++ {
		ports, err := vaulttest.FreePorts(1)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Port = ports[0]
		err = s.run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60",
			"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off", s.Port, dir), "start")
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			s.Close()
			return nil, err
		}
	}
}

func (s *Server) run(args ...string) error {
	cmd := exec.Command(append(s.runAs, args...)[0], append(s.runAs, args...)[1:]...)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s failed: %v\n%s", filepath.Base(args[0]), err, out)
	}
	return nil
}

// URL is a connection string for user and password.
func (s *Server) URL(user, password string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=10", user, password, s.Port)
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	if s.Port != 0 {
		_ = s.run(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.Dir, "data"), "-m", "immediate", "-w", "stop")
	}
	os.RemoveAll(s.Dir)
}
