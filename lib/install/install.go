// Package install turns a host (or a directory standing in for one) into a
// hardened Vault node: binary, directory layout, TLS material, hclwrite
// configuration, systemd unit, then initialisation with PGP-encrypted key
// shares, unsealing and the bootstrap (KV v2, two audit devices, AppRole,
// ACL policies) after which the root token is revoked.
//
// Every step first compares what is there with what should be, so Plan
// reports exactly what Apply would change, and Apply on a converged host
// changes nothing.
//
// One file per step: layout.go (directories and the files that are
// rendered), user.go, binary.go (where the binary comes from, and copying
// it), tls.go, config.go (vault.hcl), unit.go (the systemd unit),
// service.go (systemctl), server.go (the server's state as seen over the
// API), initialize.go, unseal.go and bootstrap.go (its steps in order);
// runner.go runs them for Plan and Apply.
package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/pki"
)

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
	RootTokenPGPKey   string   // file; required with PGPKeys
	// AllowSharedHolder lets one key receive several shares, and
	// AllowThreshold1 lets one share of several unseal: both give up split
	// knowledge, so neither is the default.
	AllowSharedHolder, AllowThreshold1 bool
	KeepRoot                           bool
	// Seal is "shamir" (key shares, the default) or "transit" (unsealed by
	// Transit's key; the shares become recovery shares).
	Seal        string
	Transit     Transit
	Policies    string // directory with acl/*.hcl
	SecondAudit string // "file" or "syslog"

	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time

	ca *pki.CA // the CA made or loaded by this run
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

// defaultClusterListen exposes the raft port only where there are peers:
// a node that joins, or one given a cluster address for peers to dial. A
// single node keeps it on loopback; the first node of a cluster-to-be gets
// --cluster-listen 0.0.0.0:8201 (or its address) when the others join.
func (o *Options) defaultClusterListen() string {
	if len(o.Join) > 0 || o.ClusterAddr != "" {
		return "0.0.0.0:8201"
	}
	return "127.0.0.1:8201"
}

// Validate checks options that do not depend on the host, and the PGP keys
// given. An error without a fault kind is a usage error.
func (o *Options) Validate() error {
	if o.Root == "" {
		o.Root = "/"
	}
	if !filepath.IsAbs(o.Root) {
		return fmt.Errorf("--root %q: want an absolute path", o.Root)
	}
	if o.Shares < 1 || o.Threshold < 1 || o.Threshold > o.Shares {
		return fmt.Errorf("key shares %d, threshold %d: want 1 <= threshold <= shares", o.Shares, o.Threshold)
	}
	if o.Shares > 1 && o.Threshold < 2 && !o.AllowThreshold1 {
		return &fault.Error{Kind: fault.Usage, Err: fmt.Errorf("key shares %d, threshold %d: any one holder could unseal alone", o.Shares, o.Threshold),
			Hint: "--key-threshold 2 or more; --allow-threshold-1 if one share is meant to be enough"}
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
	if o.ClusterListen == "" {
		o.ClusterListen = o.defaultClusterListen()
	}
	if o.APIAddr == "" {
		o.APIAddr = "https://" + advertised(o.Listen, o.NodeID)
	}
	if o.ClusterAddr == "" {
		o.ClusterAddr = "https://" + advertised(o.ClusterListen, o.NodeID)
	}
	if err := o.validateSeal(); err != nil {
		return err
	}
	sc := o.serverConfig()
	if err := sc.Validate(); err != nil {
		return err
	}
	if len(o.PGPKeys) > 0 {
		// Refused before anything is written, not at initialisation.
		if _, _, err := o.holders(); err != nil {
			return err
		}
	}
	return nil
}

// Change is one difference between the host and what the options ask for.
type Change struct {
	Step   string `json:"step"`
	Action string `json:"action"` // create, update, run, wait, skip
	Path   string `json:"path,omitempty"`
	Detail string `json:"detail,omitempty"`
}
