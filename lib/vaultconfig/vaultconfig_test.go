package vaultconfig_test

import (
	"crypto/tls"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

func base() vaultconfig.Server {
	return vaultconfig.Server{
		NodeID: "vault-1", DataDir: "/opt/vault/data", Listen: "0.0.0.0:8200", ClusterListen: "0.0.0.0:8201",
		APIAddr: "https://vault.example.com:8200", ClusterAddr: "https://10.0.0.1:8201",
		TLSCertFile: "/opt/vault/tls/server.pem", TLSKeyFile: "/opt/vault/tls/server-key.pem",
	}
}

func TestRenderParsesBack(t *testing.T) {
	s := base()
	s.Join = []string{"https://10.0.0.2:8200", "https://10.0.0.3:8200"}
	s.JoinCACertFile = "/opt/vault/tls/ca.pem"
	s.NodeID = `n"1`
	if _, err := vaultconfig.Render(s); err == nil {
		t.Fatalf("Render(node id with a quote) = nil error")
	}
	s.NodeID = "vault-1"
	out, err := vaultconfig.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(out, "vault.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("rendered config does not parse: %v\n%s", diags, out)
	}
	body := f.Body.(*hclsyntax.Body)
	var joins int
	for _, b := range body.Blocks {
		if b.Type == "storage" {
			for _, j := range b.Body.Blocks {
				if j.Type == "retry_join" {
					joins++
				}
			}
		}
	}
	if joins != 2 {
		t.Fatalf("retry_join blocks = %d; want 2\n%s", joins, out)
	}
	for _, want := range []string{`tls_min_version += "tls12"`, `disable_mlock += true`, `ui += false`, `prometheus_retention_time = "24h"`,
		`tls_cipher_suites += "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,[A-Z0-9_,]+"`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("rendered config lacks %s:\n%s", want, out)
		}
	}
}

// The TLS 1.2 suites are forward-secret AEAD suites Go implements, by the
// names Vault parses (the Go constant names).
func TestTLS12CipherSuitesAreAEAD(t *testing.T) {
	known := map[string]bool{}
	for _, cs := range tls.CipherSuites() {
		known[cs.Name] = true
	}
	for _, name := range vaultconfig.TLS12CipherSuites {
		if !known[name] {
			t.Errorf("%s: not a secure suite of crypto/tls", name)
		}
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("%s: want ECDHE with GCM or ChaCha20-Poly1305", name)
		}
	}
}

func TestRenderUnauthedGenerateRoot(t *testing.T) {
	s := base()
	out, err := vaultconfig.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "disable_unauthed_generate_root_endpoints") {
		t.Fatalf("Render() names OpenBao's generate-root setting unasked:\n%s", out)
	}
	s.UnauthedGenerateRoot = true
	if out, err = vaultconfig.Render(s); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?s)listener "tcp" \{[^}]*disable_unauthed_generate_root_endpoints += false`).Match(out) {
		t.Fatalf("Render(UnauthedGenerateRoot) lacks the listener setting:\n%s", out)
	}
}

func TestRenderTLS13AndUI(t *testing.T) {
	s := base()
	s.TLS13Only, s.UI = true, true
	out, err := vaultconfig.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`tls_min_version += "tls13"`).Match(out) || !strings.Contains(string(out), "= true") || strings.Contains(string(out), "tls_cipher_suites") {
		t.Fatalf("Render(TLS13Only, UI) =\n%s", out)
	}
}

func TestValidate(t *testing.T) {
	for name, mod := range map[string]func(*vaultconfig.Server){
		"http api addr":   func(s *vaultconfig.Server) { s.APIAddr = "http://x:8200" },
		"listen no port":  func(s *vaultconfig.Server) { s.Listen = "0.0.0.0" },
		"join without ca": func(s *vaultconfig.Server) { s.Join = []string{"https://p:8200"} },
		"empty node id":   func(s *vaultconfig.Server) { s.NodeID = "" },
	} {
		s := base()
		mod(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%s) = nil; want an error", name)
		}
	}
}

func TestRenderTransitSeal(t *testing.T) {
	s := base()
	s.Transit = &vaultconfig.TransitSeal{Address: "https://127.0.0.1:8300/", MountPath: "transit", KeyName: "vault-unseal",
		CACert: "/etc/vault.d/transit-ca.pem", Token: `hvs."quoted"`}
	out, err := vaultconfig.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(out, "vault.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("rendered config does not parse: %v\n%s", diags, out)
	}
	var seal *hclsyntax.Block
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "seal" {
			seal = b
		}
	}
	if seal == nil || len(seal.Labels) != 1 || seal.Labels[0] != "transit" {
		t.Fatalf("no seal \"transit\" block in\n%s", out)
	}
	want := map[string]string{"address": "https://127.0.0.1:8300", "mount_path": "transit/", "key_name": "vault-unseal",
		"tls_ca_cert": "/etc/vault.d/transit-ca.pem", "token": `hvs."quoted"`}
	for k, v := range want {
		a := seal.Body.Attributes[k]
		if a == nil {
			t.Fatalf("seal has no %s", k)
		}
		got, d := a.Expr.Value(nil)
		if d.HasErrors() || got.AsString() != v {
			t.Errorf("seal %s = %#v, want %q", k, got, v)
		}
	}
	if _, ok := seal.Body.Attributes["disabled"]; ok {
		t.Errorf("an enabled seal renders disabled")
	}
	back, err := vaultconfig.ParseTransit(out, "vault.hcl")
	if err != nil || back == nil || *back != (vaultconfig.TransitSeal{Address: "https://127.0.0.1:8300", MountPath: "transit/",
		KeyName: "vault-unseal", CACert: "/etc/vault.d/transit-ca.pem", Token: `hvs."quoted"`}) {
		t.Errorf("ParseTransit = %+v, %v", back, err)
	}
	if none, err := vaultconfig.ParseTransit([]byte("ui = true\n"), "x.hcl"); none != nil || err != nil {
		t.Errorf("ParseTransit(no seal) = %+v, %v", none, err)
	}
	if _, err := vaultconfig.ParseTransit([]byte("seal \"transit\" {\n  token = 3\n}\n"), "x.hcl"); err == nil || !strings.Contains(err.Error(), "x.hcl:2") {
		t.Errorf("ParseTransit(token = 3) error = %v, want one naming x.hcl:2", err)
	}
	s.Transit.Disabled = true
	out, _ = vaultconfig.Render(s)
	if !regexp.MustCompile(`(?m)^\s*disabled\s*=\s*"true"$`).Match(out) {
		t.Errorf("disabled seal: no disabled = \"true\" in\n%s", out)
	}

	for _, bad := range []vaultconfig.TransitSeal{
		{Address: "http://127.0.0.1:8300", MountPath: "transit", KeyName: "k", Token: "t"},
		{Address: "https://127.0.0.1:8300", MountPath: "transit", KeyName: "a/b", Token: "t"},
		{Address: "https://127.0.0.1:8300", MountPath: "", KeyName: "k", Token: "t"},
		{Address: "https://127.0.0.1:8300", MountPath: "transit", KeyName: "k"},
	} {
		s.Transit = &bad
		if _, err := vaultconfig.Render(s); err == nil {
			t.Errorf("Render(%+v) = nil error", bad)
		}
	}
}

// Every listener carries the request limits; a unix socket is one more
// listener, never a replacement for the TCP one raft needs.
func TestRenderListenerLimits(t *testing.T) {
	s := base()
	s.UnixSocket = "vault.sock"
	out, err := vaultconfig.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"unix", "tcp"} {
		for _, k := range []string{"max_request_size", "max_json_depth", "max_json_string_value_length", "max_json_object_entry_count", "max_json_array_element_count"} {
			if !regexp.MustCompile(`(?s)listener "` + l + `" \{[^}]*` + k + ` += [1-9]`).Match(out) {
				t.Errorf("Render() listener %s lacks %s:\n%s", l, k, out)
			}
		}
	}
	if !regexp.MustCompile(`(?s)listener "unix" \{[^}]*address += "vault.sock"[^}]*socket_mode += "0600"`).Match(out) {
		t.Errorf("Render(UnixSocket) lacks the 0600 unix listener:\n%s", out)
	}
}
