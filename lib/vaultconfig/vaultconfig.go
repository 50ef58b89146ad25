// Package vaultconfig is the one renderer and parser of vault.hcl: the
// configuration of one raft node, rendered with hclwrite so that every value
// is quoted and escaped by the HCL writer rather than pasted into a
// template, and its seal "transit" stanza read back. vault-install writes
// it, vault-health reads it, and lib/localvault starts servers from it.
package vaultconfig

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
	"github.com/zclconf/go-cty/cty"
)

// Server describes one node.
type Server struct {
	NodeID        string
	DataDir       string // raft storage path
	Listen        string // host:port of the API listener
	ClusterListen string // host:port of the cluster listener
	APIAddr       string // https URL clients and peers use
	ClusterAddr   string // https URL of the cluster port
	TLSCertFile   string
	TLSKeyFile    string
	TLS13Only     bool
	UI            bool
	// Join lists peers to join (retry_join); each trusts JoinCACertFile.
	Join           []string
	JoinCACertFile string
	// PluginDir is optional.
	PluginDir string
	// UnixSocket, when set, adds a listener "unix" at that path (0600): the
	// API where only the socket's directory lets a client in.
	UnixSocket string
	// UnauthedGenerateRoot keeps sys/generate-root open without a token on
	// an OpenBao listener: OpenBao turns it off by default (from 2.5.3),
	// and Vault does not know the setting, so only OpenBao servers set it.
	UnauthedGenerateRoot bool
	// Transit, when set, adds a seal "transit" stanza: Vault unseals
	// itself with a key of another Vault. Disabled renders it with
	// disabled = "true", the way back to Shamir shares (seal migration).
	Transit *TransitSeal
}

// TransitSeal is the seal "transit" stanza. Token is the transit Vault's
// token; it ends up in vault.hcl, which only root and the vault group read.
type TransitSeal struct {
	Address   string // https URL of the transit Vault
	MountPath string // transit mount, e.g. "transit"
	KeyName   string
	CACert    string // CA file for the transit Vault's certificate (optional)
	Token     string
	Disabled  bool
}

// Validate checks what Render cannot fix up.
func (s *Server) Validate() error {
	if s.NodeID == "" || strings.ContainsAny(s.NodeID, " \t\n\"") {
		return fmt.Errorf("node id %q: want a non-empty word", s.NodeID)
	}
	for _, hp := range []struct{ name, v string }{{"listen", s.Listen}, {"cluster listen", s.ClusterListen}} {
		if _, _, err := net.SplitHostPort(hp.v); err != nil {
			return fmt.Errorf("%s address %q: want host:port", hp.name, hp.v)
		}
	}
	for _, u := range append([]string{s.APIAddr, s.ClusterAddr}, s.Join...) {
		p, err := url.Parse(u)
		if err != nil || p.Scheme != "https" || p.Host == "" {
			return fmt.Errorf("address %q: want an https:// URL", u)
		}
	}
	if s.DataDir == "" || s.TLSCertFile == "" || s.TLSKeyFile == "" {
		return fmt.Errorf("data dir, TLS certificate and key are required")
	}
	if len(s.Join) > 0 && s.JoinCACertFile == "" {
		return fmt.Errorf("joining peers needs the CA certificate that signed their TLS certificates")
	}
	if t := s.Transit; t != nil {
		p, err := url.Parse(t.Address)
		if err != nil || p.Scheme != "https" || p.Host == "" || p.Path != "" && p.Path != "/" {
			return fmt.Errorf("transit address %q: want an https:// URL of the transit Vault", t.Address)
		}
		for _, w := range []struct{ name, v string }{{"transit key", t.KeyName}, {"transit mount", strings.Trim(t.MountPath, "/")}} {
			if w.v == "" || strings.ContainsAny(w.v, " \t\n\"/?#") {
				return fmt.Errorf("%s %q: want a non-empty name without spaces or slashes", w.name, w.v)
			}
		}
		if t.Token == "" {
			return fmt.Errorf("the transit seal needs a token")
		}
	}
	return nil
}

// TLS12CipherSuites are the TLS 1.2 suites the listener offers, by the
// names Vault's tls_cipher_suites takes (Go's crypto/tls names).
var TLS12CipherSuites = []string{
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

// Listener limits. Vault writes every request, refused or not, into every
// audit device, escaping <, > and & sixfold: with the defaults (32 MiB
// bodies, 1 MiB JSON strings) one unauthenticated request made a 75 MB
// audit line. 1 MiB bodies hold any policy, secret or snapshot-free request
// vaultpipe makes (snapshots stream through their own endpoint, which the
// limit does not cover — Vault reads restores without it).
const (
	MaxRequestSize           = 1 << 20
	MaxJSONDepth             = 100
	MaxJSONStringValueLength = 256 << 10
	MaxJSONObjectEntryCount  = 1000
	MaxJSONArrayElementCount = 1000
)

func setLimits(l *hclwrite.Body) {
	l.SetAttributeValue("max_request_size", cty.NumberIntVal(MaxRequestSize))
	l.SetAttributeValue("max_json_depth", cty.NumberIntVal(MaxJSONDepth))
	l.SetAttributeValue("max_json_string_value_length", cty.NumberIntVal(MaxJSONStringValueLength))
	l.SetAttributeValue("max_json_object_entry_count", cty.NumberIntVal(MaxJSONObjectEntryCount))
	l.SetAttributeValue("max_json_array_element_count", cty.NumberIntVal(MaxJSONArrayElementCount))
}

// Render returns the HCL text of s.
func Render(s Server) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	f := hclwrite.NewEmptyFile()
	root := f.Body()

	storage := root.AppendNewBlock("storage", []string{"raft"}).Body()
	storage.SetAttributeValue("path", cty.StringVal(s.DataDir))
	storage.SetAttributeValue("node_id", cty.StringVal(s.NodeID))
	// Raft's own timing (1s heartbeats) instead of the 5x slack default,
	// which HashiCorp recommends for production: elections and failover
	// take seconds, not tens of seconds.
	storage.SetAttributeValue("performance_multiplier", cty.NumberIntVal(1))
	for _, peer := range s.Join {
		j := storage.AppendNewBlock("retry_join", nil).Body()
		j.SetAttributeValue("leader_api_addr", cty.StringVal(peer))
		j.SetAttributeValue("leader_ca_cert_file", cty.StringVal(s.JoinCACertFile))
	}
	root.AppendNewline()

	if s.UnixSocket != "" {
		u := root.AppendNewBlock("listener", []string{"unix"}).Body()
		u.SetAttributeValue("address", cty.StringVal(s.UnixSocket))
		u.SetAttributeValue("socket_mode", cty.StringVal("0600"))
		setLimits(u)
		root.AppendNewline()
	}

	l := root.AppendNewBlock("listener", []string{"tcp"}).Body()
	l.SetAttributeValue("address", cty.StringVal(s.Listen))
	l.SetAttributeValue("cluster_address", cty.StringVal(s.ClusterListen))
	l.SetAttributeValue("tls_cert_file", cty.StringVal(s.TLSCertFile))
	l.SetAttributeValue("tls_key_file", cty.StringVal(s.TLSKeyFile))
	minVersion := "tls12"
	if s.TLS13Only {
		minVersion = "tls13"
	}
	l.SetAttributeValue("tls_min_version", cty.StringVal(minVersion))
	if !s.TLS13Only {
		// TLS 1.2 with forward secrecy and AEAD only: no CBC, no SHA-1 MACs,
		// no RSA key exchange. TLS 1.3's suites are all AEAD and not
		// configurable.
		l.SetAttributeValue("tls_cipher_suites", cty.StringVal(strings.Join(TLS12CipherSuites, ",")))
	}
	if s.UnauthedGenerateRoot {
		l.SetAttributeValue("disable_unauthed_generate_root_endpoints", cty.False)
	}
	setLimits(l)
	// Metrics stay behind a token; Prometheus scrapes with one.
	lt := l.AppendNewBlock("telemetry", nil).Body()
	lt.SetAttributeValue("unauthenticated_metrics_access", cty.False)
	root.AppendNewline()

	root.SetAttributeValue("api_addr", cty.StringVal(s.APIAddr))
	root.SetAttributeValue("cluster_addr", cty.StringVal(s.ClusterAddr))
	// Raft storage is memory-mapped: mlock would pin the whole database in
	// RAM, so HashiCorp's raft guidance is to disable it and turn swap off.
	root.SetAttributeValue("disable_mlock", cty.True)
	root.SetAttributeValue("ui", cty.BoolVal(s.UI))
	root.SetAttributeValue("log_level", cty.StringVal("info"))
	if s.PluginDir != "" {
		root.SetAttributeValue("plugin_directory", cty.StringVal(s.PluginDir))
	}
	root.AppendNewline()

	if ts := s.Transit; ts != nil {
		b := root.AppendNewBlock("seal", []string{"transit"}).Body()
		b.SetAttributeValue("address", cty.StringVal(strings.TrimSuffix(ts.Address, "/")))
		b.SetAttributeValue("mount_path", cty.StringVal(strings.Trim(ts.MountPath, "/")+"/"))
		b.SetAttributeValue("key_name", cty.StringVal(ts.KeyName))
		if ts.CACert != "" {
			b.SetAttributeValue("tls_ca_cert", cty.StringVal(ts.CACert))
		}
		// The seal renews this (periodic) token itself; renewal stays on.
		b.SetAttributeValue("token", cty.StringVal(ts.Token))
		if ts.Disabled {
			// Vault takes the string, as in its seal migration docs.
			b.SetAttributeValue("disabled", cty.StringVal("true"))
		}
		root.AppendNewline()
	}

	t := root.AppendNewBlock("telemetry", nil).Body()
	t.SetAttributeValue("prometheus_retention_time", cty.StringVal("24h"))
	t.SetAttributeValue("disable_hostname", cty.True)

	return hclwrite.Format(f.Bytes()), nil
}

// ParseTransit returns the seal "transit" stanza of a rendered vault.hcl,
// or nil when it has none. Only literal string attributes are read.
func ParseTransit(src []byte, name string) (*TransitSeal, error) {
	body, err := hcldiag.Parse(name, src)
	if err != nil {
		return nil, err
	}
	for _, b := range body.Blocks {
		if b.Type != "seal" || len(b.Labels) != 1 || b.Labels[0] != "transit" {
			continue
		}
		str := func(k string) (string, error) {
			a := b.Body.Attributes[k]
			if a == nil {
				return "", nil
			}
			v, d := a.Expr.Value(nil)
			if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
				return "", fmt.Errorf("%s:%d: seal %s: want a string", name, a.SrcRange.Start.Line, k)
			}
			return v.AsString(), nil
		}
		t := &TransitSeal{}
		for _, f := range []struct {
			k string
			p *string
		}{{"address", &t.Address}, {"mount_path", &t.MountPath}, {"key_name", &t.KeyName}, {"tls_ca_cert", &t.CACert}, {"token", &t.Token}} {
			v, err := str(f.k)
			if err != nil {
				return nil, err
			}
			*f.p = v
		}
		d, err := str("disabled")
		if err != nil {
			return nil, err
		}
		t.Disabled = d == "true"
		return t, nil
	}
	return nil, nil
}
