package install

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

// Layout holds the host paths of an installation, without the --root prefix.
var Layout = struct {
	Binary, ConfigDir, Config, InitFile, StateFile, DataDir, TLSDir, CACert, CAKey, OldCAKey, ServerCert, ServerKey, LogDir, AuditLog, AuditLog2, Unit, ExportedCA,
	HandOverRoleID, HandOverSecretID string
}{
	Binary:     "/usr/local/bin/vault",
	ConfigDir:  "/etc/vault.d",
	Config:     "/etc/vault.d/vault.hcl",
	InitFile:   "/etc/vault.d/vault-init.json",
	StateFile:  "/etc/vault.d/install-state.json",
	DataDir:    "/opt/vault/data",
	TLSDir:     "/opt/vault/tls",
	CACert:     "/opt/vault/tls/ca.pem",
	CAKey:      "/etc/vaultpipe/ca-key.pem",
	OldCAKey:   "/opt/vault/tls/ca-key.pem",
	ServerCert: "/opt/vault/tls/server.pem",
	ServerKey:  "/opt/vault/tls/server-key.pem",
	LogDir:     "/var/log/vault",
	AuditLog:   "/var/log/vault/audit.log",
	AuditLog2:  "/var/log/vault/audit-secondary.log",
	Unit:       "/etc/systemd/system/vault.service",
	ExportedCA: "/usr/local/share/vaultpipe/vault-ca.pem",
	// The policy-sync AppRole's first credentials (root only, 0600).
	HandOverRoleID:   "/etc/vaultpipe/policy-sync/role_id",
	HandOverSecretID: "/etc/vaultpipe/policy-sync/secret_id",
}

type dirSpec struct {
	path  string
	mode  os.FileMode
	owner string
}

func (o *Options) dirs() []dirSpec {
	return []dirSpec{
		{"/usr/local/bin", 0o755, "root"},
		{Layout.ConfigDir, 0o750, "root:vault"},
		{"/opt/vault", 0o755, "root"},
		{Layout.DataDir, 0o750, "vault"},
		// root:vault: Vault reads its certificate and key, but cannot swap
		// the CA certificate that apply exports to clients.
		{Layout.TLSDir, 0o750, "root:vault"},
		{Layout.LogDir, 0o750, "vault"},
		{"/etc/systemd/system", 0o755, "root"},
		{filepath.Dir(Layout.ExportedCA), 0o755, "root"},
	}
}

type fileSpec struct {
	step  string
	path  string // layout path
	mode  os.FileMode
	data  []byte
	owner string // "vault", "root" or "root:vault" (group vault)
	// keep means only create when missing (generated secrets, certificates).
	keep bool
}

// filePlan computes the files the host should have and the changes needed.
func (o *Options) filePlan() ([]dirSpec, []fileSpec, []Change, error) {
	var changes []Change
	dirs := o.dirs()
	for _, d := range dirs {
		fi, err := os.Stat(o.Path(d.path))
		switch {
		case os.IsNotExist(err):
			changes = append(changes, Change{Step: "directory", Action: "create", Path: d.path, Detail: fmt.Sprintf("mode %#o", d.mode)})
		case err != nil:
			return nil, nil, nil, err
		case !fi.IsDir():
			return nil, nil, nil, fmt.Errorf("%s exists and is not a directory", o.Path(d.path))
		case fi.Mode().Perm() != d.mode:
			changes = append(changes, Change{Step: "directory", Action: "update", Path: d.path, Detail: fmt.Sprintf("mode %#o -> %#o", fi.Mode().Perm(), d.mode)})
		}
	}

	if err := o.checkSealKept(); err != nil {
		return nil, nil, nil, err
	}
	cfg, err := vaultconfig.Render(o.serverConfig())
	if err != nil {
		return nil, nil, nil, err
	}
	files := []fileSpec{
		{step: "config", path: Layout.Config, mode: 0o640, data: cfg, owner: "root:vault"},
		{step: "systemd-unit", path: Layout.Unit, mode: 0o644, data: o.unit().Render(), owner: "root"},
	}
	files = append(files, o.transitFiles()...)
	for _, f := range files {
		if c, ok := o.compareFile(f); ok {
			changes = append(changes, c)
		}
	}
	tlsChanges, err := o.tlsPlan()
	if err != nil {
		return nil, nil, nil, err
	}
	changes = append(changes, tlsChanges...)
	bin, err := o.binaryPlan()
	if err != nil {
		return nil, nil, nil, err
	}
	if bin != nil {
		changes = append(changes, *bin)
	}
	return dirs, files, changes, nil
}

func (o *Options) compareFile(f fileSpec) (Change, bool) {
	p := o.Path(f.path)
	fi, err := os.Stat(p)
	if os.IsNotExist(err) {
		return Change{Step: f.step, Action: "create", Path: f.path, Detail: fmt.Sprintf("mode %#o", f.mode)}, true
	}
	if f.keep {
		if err == nil && fi.Mode().Perm() != f.mode {
			return Change{Step: f.step, Action: "update", Path: f.path, Detail: fmt.Sprintf("mode %#o -> %#o", fi.Mode().Perm(), f.mode)}, true
		}
		return Change{}, false
	}
	old, rerr := os.ReadFile(p)
	if err != nil || rerr != nil || !bytes.Equal(old, f.data) {
		return Change{Step: f.step, Action: "update", Path: f.path, Detail: "content differs"}, true
	}
	if fi.Mode().Perm() != f.mode {
		return Change{Step: f.step, Action: "update", Path: f.path, Detail: fmt.Sprintf("mode %#o -> %#o", fi.Mode().Perm(), f.mode)}, true
	}
	return Change{}, false
}

// applyFiles makes the file changes. It stops at the first error; every
// file is replaced atomically, so none is ever half-written.
func (o *Options) applyFiles(dirs []dirSpec, files []fileSpec, changes []Change) error {
	o.ca = nil // a CA is made or loaded by the run that needs it
	if err := o.checkSigningCA(changes); err != nil {
		return err // before anything is written
	}
	own, err := o.owner()
	if err != nil {
		return err
	}
	chown := func(p, who string) error {
		if own == nil {
			return nil
		}
		uid, gid := ownerIDs(own, who)
		return os.Chown(p, uid, gid)
	}
	for _, d := range dirs {
		p := o.Path(d.path)
		if err := os.MkdirAll(p, d.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
		if err := chown(p, d.owner); err != nil {
			return err
		}
	}
	for _, f := range files {
		p := o.Path(f.path)
		if _, needed := o.compareFile(f); !needed {
			continue
		}
		if err := safefile.Write(p, f.data, f.mode); err != nil {
			return err
		}
		if err := chown(p, f.owner); err != nil {
			return err
		}
	}
	for _, c := range changes {
		switch c.Step {
		case "tls":
			if err := o.applyTLS(c, chown); err != nil {
				return err
			}
		case "binary":
			if err := o.installBinary(); err != nil {
				return err
			}
		}
	}
	return nil
}
