package install

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/pki"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

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
		return append(changes, o.tlsPermPlan(changes)...), nil
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
		changes = append(changes, Change{Step: "tls", Action: "create", Path: Layout.CACert, Detail: "new local CA (10 years)"},
			Change{Step: "tls", Action: "create", Path: Layout.CAKey, Detail: caKeyAdvice})
	}
	if _, err := os.Stat(o.Path(Layout.OldCAKey)); err == nil {
		changes = append(changes, Change{Step: "tls", Action: "update", Path: Layout.CAKey, Detail: "moved from " + Layout.OldCAKey + ", out of the vault user's directory; " + caKeyAdvice})
	}
	if why := o.serverCertProblem(ca, caErr); why != "" {
		if o.CACert == "" && caErr == nil && !o.haveCAKey() {
			why += " (needs the CA key: --tls-ca-cert " + Layout.CACert + " --tls-ca-key FILE)"
		}
		changes = append(changes, Change{Step: "tls", Action: "create", Path: Layout.ServerCert, Detail: why})
	}
	changes = append(changes, o.tlsPermPlan(changes)...)
	exported, err := os.ReadFile(o.Path(Layout.ExportedCA))
	have, _ := os.ReadFile(caPath)
	if err != nil || len(changes) > 0 || !bytes.Equal(exported, have) {
		changes = append(changes, Change{Step: "tls", Action: "update", Path: Layout.ExportedCA, Detail: "CA certificate for clients"})
	}
	return changes, nil
}

// tlsFiles are the TLS files Vault reads, with their modes and owners:
// the service user may read its key but not change what it or clients
// trust.
var tlsFiles = []struct {
	path  string
	mode  os.FileMode
	owner string
}{
	{Layout.CACert, 0o644, "root"},
	{Layout.ServerCert, 0o644, "root"},
	{Layout.ServerKey, 0o640, "root:vault"},
}

// tlsPermPlan fixes the mode and owner of TLS files that stay as they are
// (an earlier version made them vault's, 0600).
func (o *Options) tlsPermPlan(changes []Change) []Change {
	own, _ := o.owner() // no user yet: nothing of theirs to fix either
	written := map[string]bool{}
	for _, c := range changes {
		written[c.Path] = true
	}
	if written[Layout.ServerCert] && o.TLSCert == "" {
		written[Layout.ServerKey] = true // issued with the certificate
	}
	var fixes []Change
	for _, f := range tlsFiles {
		fi, err := os.Stat(o.Path(f.path))
		if err != nil || written[f.path] {
			continue
		}
		if fi.Mode().Perm() != f.mode {
			fixes = append(fixes, Change{Step: "tls", Action: "update", Path: f.path, Detail: fmt.Sprintf("mode %#o -> %#o", fi.Mode().Perm(), f.mode)})
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && own != nil {
			uid, gid := ownerIDs(own, f.owner)
			if int(st.Uid) != uid || int(st.Gid) != gid {
				fixes = append(fixes, Change{Step: "tls", Action: "update", Path: f.path, Detail: fmt.Sprintf("owner %d:%d -> %s", st.Uid, st.Gid, f.owner)})
			}
		}
	}
	return fixes
}

// fixTLSPerm sets the mode and owner of a TLS file to tlsFiles'.
func (o *Options) fixTLSPerm(path string, chown func(string, string) error) error {
	for _, f := range tlsFiles {
		if f.path == path {
			if err := os.Chmod(o.Path(path), f.mode); err != nil {
				return err
			}
			return chown(o.Path(path), f.owner)
		}
	}
	return nil
}

// caKeyAdvice is what the plan says about a local CA's private key: Vault
// never needs it, and vault-install only to issue a server certificate.
const caKeyAdvice = "local CA private key, root only: move it off this host; give it back with --tls-ca-cert and --tls-ca-key when a server certificate is to be issued (a new node, a new name, renewal)"

// haveCAKey reports whether the local CA's key is still on the host (or
// about to be moved into place from the old layout).
func (o *Options) haveCAKey() bool {
	for _, p := range []string{Layout.CAKey, Layout.OldCAKey} {
		if _, err := os.Stat(o.Path(p)); err == nil {
			return true
		}
	}
	return false
}

// signingCA is the CA that issues the server certificate: the one made or
// loaded by this run, the operator's (--tls-ca-cert/--tls-ca-key, used in
// memory and never copied to the host), or the local CA whose key is still
// on the host.
func (o *Options) signingCA() (*pki.CA, error) {
	if o.ca != nil {
		return o.ca, nil
	}
	if o.CACert != "" {
		return pki.LoadCA(o.CACert, o.CAKey)
	}
	if !o.haveCAKey() {
		return nil, &fault.Error{Kind: fault.Usage, Err: fmt.Errorf("the server certificate must be issued, and the local CA's key is not on this host (%s)", Layout.CAKey),
			Hint: "give the CA for this run: --tls-ca-cert " + o.Path(Layout.CACert) + " --tls-ca-key FILE"}
	}
	ca, err := pki.LoadCA(o.Path(Layout.CACert), o.Path(Layout.CAKey))
	if err != nil {
		return nil, fmt.Errorf("loading the local CA to issue the server certificate: %w", err)
	}
	return ca, nil
}

// checkSigningCA fails when the changes issue a server certificate from an
// existing CA whose key is not at hand.
func (o *Options) checkSigningCA(changes []Change) error {
	issues, makesCA := false, false
	for _, c := range changes {
		issues = issues || c.Path == Layout.ServerCert && o.TLSCert == ""
		makesCA = makesCA || c.Path == Layout.CACert
	}
	if !issues || makesCA {
		return nil
	}
	_, err := o.signingCA()
	return err
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
			src, mode = o.TLSKey, 0o640
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := safefile.Write(o.Path(c.Path), data, mode); err != nil {
			return err
		}
		return o.fixTLSPerm(c.Path, chown)
	case strings.HasPrefix(c.Detail, "mode ") || strings.HasPrefix(c.Detail, "owner "):
		return o.fixTLSPerm(c.Path, chown)
	case c.Path == Layout.CAKey && c.Action == "update":
		return o.moveOldCAKey()
	case c.Path == Layout.CAKey:
		return nil // written with the CA certificate
	case c.Path == Layout.CACert:
		var err error
		if o.CACert != "" {
			o.ca, err = pki.LoadCA(o.CACert, o.CAKey)
		} else {
			o.ca, err = pki.NewCA("vaultpipe local CA "+o.NodeID, 10*365*24*time.Hour)
			if err == nil {
				err = o.writeCAKey()
			}
		}
		if err != nil {
			return err
		}
		return pki.WriteCert(o.Path(Layout.CACert), o.ca.Cert) // root, 0644
	case c.Path == Layout.ServerCert:
		ca, err := o.signingCA()
		if err != nil {
			return err
		}
		leaf, err := ca.Issue(o.NodeID, o.hosts(), 825*24*time.Hour)
		if err != nil {
			return err
		}
		if err := pki.WriteKey(o.Path(Layout.ServerKey), leaf.Key); err != nil {
			return err
		}
		if err := o.fixTLSPerm(Layout.ServerKey, chown); err != nil {
			return err
		}
		return pki.WriteCert(o.Path(Layout.ServerCert), leaf.Cert)
	}
	return nil
}

// writeCAKey writes a CA key made by this run where only root reaches it
// (never in the vault user's directories), for the operator to move away.
func (o *Options) writeCAKey() error {
	p := o.Path(Layout.CAKey)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return pki.WriteKey(p, o.ca.Key)
}

// moveOldCAKey moves a CA key an earlier version left in /opt/vault/tls.
func (o *Options) moveOldCAKey() error {
	old, p := o.Path(Layout.OldCAKey), o.Path(Layout.CAKey)
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("both %s and %s exist: keep the right one (off this host) and delete the other", old, p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.Rename(old, p)
}
