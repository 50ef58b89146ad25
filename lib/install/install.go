// Package install turns a host (or a directory standing in for one) into a
// hardened Vault node: binary, directory layout, TLS material, hclwrite
// configuration, systemd unit, then initialisation with PGP-encrypted key
// shares, unsealing and the bootstrap (KV v2, two audit devices, AppRole,
// ACL policies) after which the root token is revoked.
//
// Every step first compares what is there with what should be, so Plan
// reports exactly what Apply would change, and Apply on a converged host
// changes nothing.
package install

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/install/config"
	"github.com/vaultpipe/vaultpipe/lib/pki"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Layout holds the host paths of an installation, without the --root prefix.
var Layout = struct {
	Binary, ConfigDir, Config, InitFile, StateFile, DataDir, TLSDir, CACert, CAKey, ServerCert, ServerKey, LogDir, AuditLog, AuditLog2, Unit, ExportedCA string
}{
	Binary:     "/usr/local/bin/vault",
	ConfigDir:  "/etc/vault.d",
	Config:     "/etc/vault.d/vault.hcl",
	InitFile:   "/etc/vault.d/vault-init.json",
	StateFile:  "/etc/vault.d/install-state.json",
	DataDir:    "/opt/vault/data",
	TLSDir:     "/opt/vault/tls",
	CACert:     "/opt/vault/tls/ca.pem",
	CAKey:      "/opt/vault/tls/ca-key.pem",
	ServerCert: "/opt/vault/tls/server.pem",
	ServerKey:  "/opt/vault/tls/server-key.pem",
	LogDir:     "/var/log/vault",
	AuditLog:   "/var/log/vault/audit.log",
	AuditLog2:  "/var/log/vault/audit-secondary.log",
	Unit:       "/etc/systemd/system/vault.service",
	ExportedCA: "/usr/local/share/vaultpipe/vault-ca.pem",
}

// Options is what the operator asked for.
type Options struct {
	Root string // "/" on a real host

	// Binary is a verified server binary to install (already downloaded or
	// built); empty when the plan only names where it would come from.
	Binary     string
	BinaryFrom string // human description of the source, for the plan

	NodeID        string
	Listen        string // host:port
	ClusterListen string
	APIAddr       string
	ClusterAddr   string
	SANs          []string
	TLSCert       string // operator-provided certificate (e.g. Let's Encrypt)
	TLSKey        string
	CACert        string // an existing CA to issue from (shared by cluster nodes)
	CAKey         string
	TLS13Only     bool
	UI            bool
	Join          []string
	JoinCACert    string

	User    string // system user Vault runs as
	Service string // "systemd" or "none"

	Shares, Threshold int
	PGPKeys           []string // files, one per share
	RootTokenPGPKey   string   // file; default the first of PGPKeys
	KeepRoot          bool
	Policies          string // directory with acl/*.hcl
	SecondAudit       string // "file" or "syslog"

	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Path returns the real path of a layout path under the root.
func (o *Options) Path(p string) string {
	if o.Root == "" || o.Root == "/" {
		return p
	}
	return filepath.Join(o.Root, p)
}

// realHost reports whether the install targets the running system (so users,
// ownership and systemd are managed).
func (o *Options) realHost() bool { return o.Root == "" || o.Root == "/" }

// Change is one difference between the host and what the options ask for.
type Change struct {
	Step   string `json:"step"`
	Action string `json:"action"` // create, update, run, wait, skip
	Path   string `json:"path,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// owner is who owns Vault's files; nil when ownership is not managed.
type owner struct{ uid, gid int }

type fileSpec struct {
	step  string
	path  string // layout path
	mode  os.FileMode
	data  []byte
	owner string // "vault" or "root"
	// keep means only create when missing (generated secrets, certificates).
	keep bool
}

type dirSpec struct {
	path  string
	mode  os.FileMode
	owner string
}

func (o *Options) dirs() []dirSpec {
	return []dirSpec{
		{"/usr/local/bin", 0o755, "root"},
		{Layout.ConfigDir, 0o750, "vault"},
		{"/opt/vault", 0o755, "root"},
		{Layout.DataDir, 0o750, "vault"},
		{Layout.TLSDir, 0o700, "vault"},
		{Layout.LogDir, 0o750, "vault"},
		{"/etc/systemd/system", 0o755, "root"},
		{filepath.Dir(Layout.ExportedCA), 0o755, "root"},
	}
}

// Validate checks options that do not depend on the host.
func (o *Options) Validate() error {
	if o.Root == "" {
		o.Root = "/"
	}
	if !filepath.IsAbs(o.Root) {
		return fmt.Errorf("--root %q: want an absolute path", o.Root)
	}
	if o.Shares < 1 || o.Threshold < 1 || o.Threshold > o.Shares || (o.Shares > 1 && o.Threshold < 2) {
		return fmt.Errorf("key shares %d, threshold %d: want 1 <= threshold <= shares, and threshold >= 2 when shares > 1", o.Shares, o.Threshold)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if (o.CACert == "") != (o.CAKey == "") {
		return errors.New("--tls-ca-cert and --tls-ca-key go together")
	}
	switch o.Service {
	case "systemd", "none":
	default:
		return fmt.Errorf("--service %q: want systemd or none", o.Service)
	}
	if o.Service == "systemd" && !o.realHost() {
		return errors.New("--service systemd manages the running system: use it only with --root /")
	}
	switch o.SecondAudit {
	case "file", "syslog":
	default:
		return fmt.Errorf("--second-audit %q: want file or syslog", o.SecondAudit)
	}
	if o.User == "" {
		o.User = "vault"
	}
	if o.NodeID == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("no --node-id and no hostname: %w", err)
		}
		o.NodeID = h
	}
	if o.APIAddr == "" {
		o.APIAddr = "https://" + advertised(o.Listen, o.NodeID)
	}
	if o.ClusterAddr == "" {
		o.ClusterAddr = "https://" + advertised(o.ClusterListen, o.NodeID)
	}
	sc := o.serverConfig()
	return sc.Validate()
}

// advertised turns a listen address into one peers can dial.
func advertised(listen, host string) string {
	h, p, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
		h = host
	}
	return net.JoinHostPort(h, p)
}

func (o *Options) serverConfig() config.Server {
	tlsCert, tlsKey := Layout.ServerCert, Layout.ServerKey
	joinCA := o.JoinCACert
	if joinCA == "" && len(o.Join) > 0 {
		joinCA = o.Path(Layout.CACert)
	}
	return config.Server{
		NodeID:         o.NodeID,
		DataDir:        o.Path(Layout.DataDir),
		Listen:         o.Listen,
		ClusterListen:  o.ClusterListen,
		APIAddr:        o.APIAddr,
		ClusterAddr:    o.ClusterAddr,
		TLSCertFile:    o.Path(tlsCert),
		TLSKeyFile:     o.Path(tlsKey),
		TLS13Only:      o.TLS13Only,
		UI:             o.UI,
		Join:           o.Join,
		JoinCACertFile: joinCA,
	}
}

// hosts are the names the server certificate must carry.
func (o *Options) hosts() []string {
	seen := map[string]bool{}
	var hs []string
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	add(o.NodeID)
	add("localhost")
	add("127.0.0.1")
	for _, a := range []string{o.APIAddr, o.ClusterAddr} {
		if u, err := url.Parse(a); err == nil {
			add(u.Hostname())
		}
	}
	if h, _, err := net.SplitHostPort(o.Listen); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			add(h)
		}
	}
	for _, s := range o.SANs {
		add(s)
	}
	return hs
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

	cfg, err := config.Render(o.serverConfig())
	if err != nil {
		return nil, nil, nil, err
	}
	files := []fileSpec{
		{step: "config", path: Layout.Config, mode: 0o640, data: cfg, owner: "vault"},
		{step: "systemd-unit", path: Layout.Unit, mode: 0o644, data: o.unit().Render(), owner: "root"},
	}
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

// tlsPlan decides whether the CA and server certificate must be made.
func (o *Options) tlsPlan() ([]Change, error) {
	var changes []Change
	caPath := o.Path(Layout.CACert)
	if o.TLSCert != "" {
		for _, f := range []struct{ src, dst string }{{o.TLSCert, Layout.ServerCert}, {o.TLSKey, Layout.ServerKey}} {
			want, err := os.ReadFile(f.src)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f.src, err)
			}
			have, err := os.ReadFile(o.Path(f.dst))
			if err != nil || !bytes.Equal(have, want) {
				changes = append(changes, Change{Step: "tls", Action: "update", Path: f.dst, Detail: "copy of " + f.src})
			}
		}
		return changes, nil
	}
	ca, caErr := pki.ReadCertificate(caPath)
	if o.CACert != "" {
		want, err := pki.ReadCertificate(o.CACert)
		if err != nil {
			return nil, err
		}
		if caErr != nil || !bytes.Equal(ca.Raw, want.Raw) {
			changes = append(changes, Change{Step: "tls", Action: "update", Path: Layout.CACert, Detail: "copy of " + o.CACert})
			ca, caErr = want, nil
		}
	} else if caErr != nil {
		changes = append(changes, Change{Step: "tls", Action: "create", Path: Layout.CACert, Detail: "new local CA (10 years)"})
	}
	if why := o.serverCertProblem(ca, caErr); why != "" {
		changes = append(changes, Change{Step: "tls", Action: "create", Path: Layout.ServerCert, Detail: why})
	}
	exported, err := os.ReadFile(o.Path(Layout.ExportedCA))
	have, _ := os.ReadFile(caPath)
	if err != nil || len(changes) > 0 || !bytes.Equal(exported, have) {
		changes = append(changes, Change{Step: "tls", Action: "update", Path: Layout.ExportedCA, Detail: "CA certificate for clients"})
	}
	return changes, nil
}

// serverCertProblem says why the server certificate must be (re)issued, or
// "" when it is fine.
func (o *Options) serverCertProblem(ca *x509.Certificate, caErr error) string {
	cert, err := pki.ReadCertificate(o.Path(Layout.ServerCert))
	if err != nil {
		return "no server certificate"
	}
	if _, err := os.Stat(o.Path(Layout.ServerKey)); err != nil {
		return "no server key"
	}
	if caErr != nil || cert.CheckSignatureFrom(ca) != nil {
		return "server certificate not signed by the CA"
	}
	if cert.NotAfter.Before(o.now().Add(30 * 24 * time.Hour)) {
		return "server certificate expires within 30 days"
	}
	for _, h := range o.hosts() {
		if cert.VerifyHostname(h) != nil {
			return "server certificate does not cover " + h
		}
	}
	return ""
}

func (o *Options) binaryPlan() (*Change, error) {
	dst := o.Path(Layout.Binary)
	if o.Binary == "" {
		if _, err := os.Stat(dst); err == nil {
			return nil, nil
		}
		return &Change{Step: "binary", Action: "create", Path: Layout.Binary, Detail: o.BinaryFrom}, nil
	}
	same, err := sameContent(o.Binary, dst)
	if err != nil {
		return nil, err
	}
	if same {
		if fi, err := os.Stat(dst); err == nil && fi.Mode().Perm() == 0o755 {
			return nil, nil
		}
	}
	return &Change{Step: "binary", Action: "update", Path: Layout.Binary, Detail: o.BinaryFrom}, nil
}

// sameContent compares two files byte by byte (cheaper than hashing both).
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, fmt.Errorf("reading binary: %w", err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if os.IsNotExist(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer fb.Close()
	sa, _ := fa.Stat()
	sb, _ := fb.Stat()
	if os.SameFile(sa, sb) {
		return true, nil
	}
	if sa.Size() != sb.Size() {
		return false, nil
	}
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF), nil
		}
	}
}

// applyFiles makes the file changes. It stops at the first error; every
// file is replaced atomically, so none is ever half-written.
func (o *Options) applyFiles(dirs []dirSpec, files []fileSpec, changes []Change) error {
	own, err := o.owner()
	if err != nil {
		return err
	}
	chown := func(p, who string) error {
		if own == nil {
			return nil
		}
		uid, gid := 0, 0
		if who == "vault" {
			if p == o.Path(Layout.Config) || p == o.Path(Layout.ConfigDir) {
				gid = own.gid // root:vault, Vault reads but cannot rewrite its config
			} else {
				uid, gid = own.uid, own.gid
			}
		}
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

func (o *Options) applyTLS(c Change, chown func(string, string) error) error {
	switch {
	case c.Path == Layout.ExportedCA:
		data, err := os.ReadFile(o.Path(Layout.CACert))
		if err != nil && o.TLSCert != "" {
			return nil // an operator-provided certificate chains to a public CA
		}
		if err != nil {
			return err
		}
		return safefile.Write(o.Path(Layout.ExportedCA), data, 0o644)
	case o.TLSCert != "":
		src := o.TLSCert
		mode := os.FileMode(0o644)
		if c.Path == Layout.ServerKey {
			src, mode = o.TLSKey, 0o600
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := safefile.Write(o.Path(c.Path), data, mode); err != nil {
			return err
		}
		return chown(o.Path(c.Path), "vault")
	case c.Path == Layout.CACert:
		var ca *pki.CA
		var err error
		if o.CACert != "" {
			ca, err = pki.LoadCA(o.CACert, o.CAKey)
		} else {
			ca, err = pki.NewCA("vaultpipe local CA "+o.NodeID, 10*365*24*time.Hour)
		}
		if err != nil {
			return err
		}
		// The CA key stays root-only: Vault never needs it.
		if err := pki.WriteKey(o.Path(Layout.CAKey), ca.Key); err != nil {
			return err
		}
		if err := pki.WriteCert(o.Path(Layout.CACert), ca.Cert); err != nil {
			return err
		}
		return chown(o.Path(Layout.CACert), "vault")
	case c.Path == Layout.ServerCert:
		ca, err := pki.LoadCA(o.Path(Layout.CACert), o.Path(Layout.CAKey))
		if err != nil {
			return fmt.Errorf("loading the local CA to issue the server certificate: %w", err)
		}
		leaf, err := ca.Issue(o.NodeID, o.hosts(), 825*24*time.Hour)
		if err != nil {
			return err
		}
		if err := pki.WriteKey(o.Path(Layout.ServerKey), leaf.Key); err != nil {
			return err
		}
		if err := pki.WriteCert(o.Path(Layout.ServerCert), leaf.Cert); err != nil {
			return err
		}
		if err := chown(o.Path(Layout.ServerKey), "vault"); err != nil {
			return err
		}
		return chown(o.Path(Layout.ServerCert), "vault")
	}
	return nil
}

func (o *Options) installBinary() error {
	if o.Binary == "" {
		return errors.New("no Vault binary to install")
	}
	src, err := os.Open(o.Binary)
	if err != nil {
		return err
	}
	defer src.Close()
	return safefile.WriteFunc(o.Path(Layout.Binary), 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// unit names the real paths, so that a unit under --root points at the
// binary and config installed there (and systemd-analyze can verify it).
func (o *Options) unit() Unit {
	return Unit{Binary: o.Path(Layout.Binary), Config: o.Path(Layout.Config), User: o.User}
}

// owner looks up (and on a real host creates) the system user.
func (o *Options) owner() (*owner, error) {
	if !o.realHost() || os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(o.User)
	if err != nil {
		return nil, fmt.Errorf("looking up user %s: %w", o.User, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &owner{uid, gid}, nil
}

// userPlan says whether the system user must be created.
func (o *Options) userPlan() *Change {
	if !o.realHost() || os.Geteuid() != 0 {
		return nil
	}
	if _, err := user.Lookup(o.User); err == nil {
		return nil
	}
	return &Change{Step: "user", Action: "create", Detail: "system user " + o.User + " (no login shell)"}
}

func (o *Options) createUser(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--home-dir", Layout.ConfigDir,
		"--no-create-home", "--shell", "/usr/sbin/nologin", o.User).CombinedOutput()
	if err != nil {
		return fmt.Errorf("useradd %s: %v: %s", o.User, err, strings.TrimSpace(string(out)))
	}
	return nil
}
