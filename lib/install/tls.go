package install

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

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
