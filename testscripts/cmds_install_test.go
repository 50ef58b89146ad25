package testscripts

// Commands for the vault-install scripts:
//
//	install-env        set VAULT_BIN (the server binary), API_PORT and
//	                   CLUSTER_PORT (free 127.0.0.1 ports)
//	pgp-keygen NAME... write NAME.asc (public) and NAME.key (private, 0600)
//	init-decrypt INITFILE SHARES TOKEN KEY...
//	                   decrypt what the private KEYs can of a vault-install
//	                   init file: shares to SHARES (one per line), the root
//	                   token to TOKEN (both 0600); export SHARE_1 and
//	                   ROOT_TOKEN for no-secret checks
//	vault-serve ROOT HOST:PORT
//	                   start `vault server -config=ROOT/etc/vault.d/vault.hcl`
//	                   and wait until HOST:PORT accepts connections
//	                   negated: succeed only if vault exits before it
//	                   listens (its log stays in vault-server.log)
//	vault-serve-kill   kill the server vault-serve started (SIGKILL)
//	http-probe HOST:PORT
//	                   succeed if plain HTTP gets a Vault answer; negated,
//	                   succeed only if it does not
//	tls-probe 1.1|1.2|1.3 HOST:PORT
//	                   handshake with exactly that TLS version; negated,
//	                   succeed only if the server refuses it with an alert
//	release-mirror good|zip|sums|signer VAR
//	                   serve a Vault 1.99.0 release for this machine's
//	                   architecture from 127.0.0.1, signed by the key in
//	                   signer.asc (made on first use) and spoiled as named;
//	                   set VAR to its base URL
//	json-get FILE PATH (OUT | -env VAR)
//	                   write the string at dotted PATH (e.g. keys.0) of the
//	                   JSON in FILE (or stdout) to OUT (0600), or set VAR
//	pgp-decrypt KEY IN OUT
//	                   decrypt IN (base64 of a PGP message, as Vault returns)
//	                   with private KEY into OUT (0600)
//	install-normalise  write the last command's stdout and stderr to out.json
//	                   and err.txt with $WORK, $VAULT_BIN, $API_PORT and
//	                   $CLUSTER_PORT replaced by their names, for golden
//	                   files compared with cmp (which -update rewrites)

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultpipe/vaultpipe/lib/install"
	"github.com/vaultpipe/vaultpipe/lib/install/installtest"
	"github.com/vaultpipe/vaultpipe/lib/install/release"
	"github.com/vaultpipe/vaultpipe/lib/install/release/releasetest"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func init() {
	commands["install-env"] = cmdInstallEnv
	commands["pgp-keygen"] = cmdPGPKeygen
	commands["init-decrypt"] = cmdInitDecrypt
	commands["vault-serve"] = cmdVaultServe
	commands["vault-serve-kill"] = cmdVaultServeKill
	commands["http-probe"] = cmdHTTPProbe
	commands["tls-probe"] = cmdTLSProbe
	commands["release-mirror"] = cmdReleaseMirror
	commands["json-get"] = cmdJSONGet
	commands["pgp-decrypt"] = cmdPGPDecrypt
	commands["install-normalise"] = cmdInstallNormalise
}

func cmdInstallEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: install-env")
	}
	bin, err := vaulttest.Binary()
	ts.Check(err)
	ports, err := vaulttest.FreePorts(2)
	ts.Check(err)
	ts.Setenv("VAULT_BIN", bin)
	ts.Setenv("API_PORT", strconv.Itoa(ports[0]))
	ts.Setenv("CLUSTER_PORT", strconv.Itoa(ports[1]))
	root, err := vaulttest.RepoRoot()
	ts.Check(err)
	ts.Setenv("REPO_ROOT", root)
}

func cmdPGPKeygen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: pgp-keygen NAME...")
	}
	for _, name := range args {
		k, err := installtest.NewKey(name)
		ts.Check(err)
		pub, err := k.Public()
		ts.Check(err)
		priv, err := k.Private()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(name+".asc"), pub, 0o644))
		ts.Check(os.WriteFile(ts.MkAbs(name+".key"), priv, 0o600))
	}
}

func cmdInitDecrypt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: init-decrypt INITFILE SHARES TOKEN KEY...")
	}
	var f install.InitFile
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &f))
	keys := map[string]*installtest.Key{}
	for _, kf := range args[3:] {
		data, err := os.ReadFile(ts.MkAbs(kf))
		ts.Check(err)
		k, err := installtest.ReadPrivate(data)
		ts.Check(err)
		keys[release.Fingerprint(k.Entity)] = k
	}
	var shares []string
	for _, s := range append(f.UnsealShares, f.RecoveryShares...) {
		k := keys[s.Fingerprint]
		if k == nil {
			continue
		}
		v, err := k.DecryptB64(s.EncryptedB64)
		if err != nil {
			ts.Fatalf("init-decrypt: share for %s: %v", s.Fingerprint, err)
		}
		shares = append(shares, v)
	}
	if len(shares) == 0 {
		ts.Fatalf("init-decrypt: no share is encrypted to the given keys")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(shares, "\n")+"\n"), 0o600))
	ts.Setenv("SHARE_1", shares[0])
	if k := keys[f.RootToken.Fingerprint]; k != nil {
		tok, err := k.DecryptB64(f.RootToken.EncryptedB64)
		if err != nil {
			ts.Fatalf("init-decrypt: root token: %v", err)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(tok+"\n"), 0o600))
		ts.Setenv("ROOT_TOKEN", tok)
	}
}

func cmdVaultServe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: vault-serve ROOT HOST:PORT")
	}
	bin, err := vaulttest.Binary()
	ts.Check(err)
	root := ts.MkAbs(args[0])
	p, err := installtest.Start(bin, filepath.Join(root, "etc/vault.d/vault.hcl"), ts.MkAbs("vault-server.log"))
	ts.Check(err)
	ts.Defer(p.Kill)
	serving.Store(ts, p)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", args[1], time.Second)
		if err == nil {
			c.Close()
			if neg {
				ts.Fatalf("vault-serve: vault listens on %s; want it to exit", args[1])
			}
			return
		}
		select {
		case <-p.Exited():
			if neg {
				serving.Delete(ts)
				return
			}
			ts.Fatalf("vault-serve: vault exited:\n%s", p.LogTail(20))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ts.Fatalf("vault-serve: %s not listening after 60s:\n%s", args[1], p.LogTail(20))
		}
	}
}

// serving maps a script to the server vault-serve started for it.
var serving sync.Map

func cmdVaultServeKill(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: vault-serve-kill")
	}
	p, ok := serving.LoadAndDelete(ts)
	if !ok {
		ts.Fatalf("vault-serve-kill: no server; run vault-serve first")
	}
	p.(*installtest.Proc).Kill()
}

func cmdHTTPProbe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: http-probe HOST:PORT")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + args[0] + "/v1/sys/health")
	answered := false
	detail := fmt.Sprint(err)
	if err == nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		answered = strings.Contains(string(body), `"initialized"`)
		detail = fmt.Sprintf("HTTP %d: %.80s", resp.StatusCode, body)
	}
	ts.Logf("http-probe: %s", detail)
	if answered == neg {
		ts.Fatalf("http-probe %s: vault answered=%v over plain HTTP", args[0], answered)
	}
}

func cmdTLSProbe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: tls-probe 1.1|1.2|1.3 HOST:PORT")
	}
	v := map[string]uint16{"1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}[args[0]]
	if v == 0 {
		ts.Fatalf("tls-probe: unknown version %q", args[0])
	}
	cfg := &tls.Config{MinVersion: v, MaxVersion: v, InsecureSkipVerify: true}
	if v == tls.VersionTLS11 {
		// The suites a TLS 1.1 client offers; Go leaves them out by default.
		cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", args[1], cfg)
	if err == nil {
		conn.Close()
		if neg {
			ts.Fatalf("tls-probe: the server accepted TLS %s", args[0])
		}
		return
	}
	if !neg {
		ts.Fatalf("tls-probe: TLS %s handshake failed: %v", args[0], err)
	}
	// Refused by the server, not by a client that could not offer it.
	if !strings.Contains(err.Error(), "remote error") {
		ts.Fatalf("tls-probe: handshake failed on this side, so the server was not tested: %v", err)
	}
	ts.Logf("tls-probe: refused: %v", err)
}

func cmdReleaseMirror(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: release-mirror good|zip|sums|signer VAR")
	}
	var signer *openpgp.Entity
	if data, err := os.ReadFile(ts.MkAbs("signer.key")); err == nil {
		k, err := installtest.ReadPrivate(data)
		ts.Check(err)
		signer = k.Entity
	} else {
		k, err := installtest.NewKey("release signer")
		ts.Check(err)
		pub, err := k.Public()
		ts.Check(err)
		priv, err := k.Private()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs("signer.asc"), pub, 0o644))
		ts.Check(os.WriteFile(ts.MkAbs("signer.key"), priv, 0o600))
		signer = k.Entity
	}
	dir := ts.MkAbs("mirror-" + args[0])
	payload := []byte("#!/bin/sh\necho 'Vault v1.99.0 (stand-in)'\n")
	ts.Check(releasetest.Write(dir, "1.99.0", runtime.GOARCH, payload, signer, releasetest.Tamper(args[0])))
	url, stop, err := releasetest.Serve(dir)
	ts.Check(err)
	ts.Defer(stop)
	ts.Setenv(args[1], url)
}

func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || !(len(args) == 3 || len(args) == 4 && args[2] == "-env") {
		ts.Fatalf("usage: json-get FILE PATH (OUT | -env VAR)")
	}
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v); err != nil {
		ts.Fatalf("json-get: %s: %v", args[0], err)
	}
	for _, k := range strings.Split(args[1], ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("json-get: no index %s", k)
			}
			v = x[i]
		default:
			ts.Fatalf("json-get: %s: no key %s", args[1], k)
		}
	}
	s, ok := v.(string)
	if !ok {
		ts.Fatalf("json-get: %s is not a string", args[1])
	}
	if len(args) == 4 {
		ts.Setenv(args[3], s)
		return
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(s+"\n"), 0o600))
}

func cmdPGPDecrypt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: pgp-decrypt KEY IN OUT")
	}
	k, err := installtest.ReadPrivate([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	v, err := k.DecryptB64(strings.TrimSpace(ts.ReadFile(args[1])))
	if err != nil {
		ts.Fatalf("pgp-decrypt: %v", err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(v+"\n"), 0o600))
}

func cmdInstallNormalise(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: install-normalise")
	}
	var pairs []string
	for _, v := range []string{"WORK", "VAULT_BIN"} {
		if val := ts.Getenv(v); val != "" {
			pairs = append(pairs, val, v)
		}
	}
	for _, v := range []string{"API_PORT", "CLUSTER_PORT"} {
		if val := ts.Getenv(v); val != "" {
			pairs = append(pairs, ":"+val, ":"+v)
		}
	}
	r := strings.NewReplacer(pairs...)
	ts.Check(os.WriteFile(ts.MkAbs("out.json"), []byte(r.Replace(ts.ReadFile("stdout"))), 0o644))
	ts.Check(os.WriteFile(ts.MkAbs("err.txt"), []byte(r.Replace(ts.ReadFile("stderr"))), 0o644))
}
