package vaultclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestMain(m *testing.M) { vaulttest.Main(m) }

func env(token string) func(string) string {
	return func(k string) string {
		if k == "VAULT_TOKEN" {
			return token
		}
		return ""
	}
}

func newClient(t *testing.T, s *vaulttest.Server, token string) *vaultclient.Client {
	t.Helper()
	c, err := vaultclient.New(context.Background(), s.Flags(), vaultclient.Options{Getenv: env(token)})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return c
}

func wantKind(t *testing.T, err error, want fault.Kind) {
	t.Helper()
	if got := fault.KindOf(err); got != want {
		t.Fatalf("error kind = %q (%v); want %q", got, err, want)
	}
}

func TestKVRoundTripAndCAS(t *testing.T) {
	shared := vaulttest.Shared(t)
	ctx := context.Background()
	kv := newClient(t, shared, shared.Token).KV("secret")
	v, err := kv.Put(ctx, "cas/app", map[string]any{"k": "v1"}, 0)
	if err != nil || v != 1 {
		t.Fatalf("Put(create) = %d, %v; want 1, nil", v, err)
	}
	_, err = kv.Put(ctx, "cas/app", map[string]any{"k": "again"}, 0)
	wantKind(t, err, fault.Conflict)
	if v, err = kv.Put(ctx, "cas/app", map[string]any{"k": "v2"}, 1); err != nil || v != 2 {
		t.Fatalf("Put(cas=1) = %d, %v; want 2, nil", v, err)
	}
	s, err := kv.Get(ctx, "cas/app", 1)
	if err != nil || s.Data["k"] != "v1" || s.Version != 1 {
		t.Fatalf("Get(version 1) = %+v, %v", s, err)
	}
	m, err := kv.Metadata(ctx, "cas/app")
	if err != nil || m.CurrentVersion != 2 || len(m.Versions) != 2 {
		t.Fatalf("Metadata() = %+v, %v; want current version 2 and 2 versions", m, err)
	}
	if err := kv.PatchCustomMetadata(ctx, "cas/app", map[string]string{"owner": "data"}); err != nil {
		t.Fatal(err)
	}
	if m, _ = kv.Metadata(ctx, "cas/app"); m.CustomMetadata["owner"] != "data" {
		t.Fatalf("custom metadata = %v; want owner=data", m.CustomMetadata)
	}
	keys, err := kv.List(ctx, "cas")
	if err != nil || len(keys) != 1 || keys[0] != "app" {
		t.Fatalf("List(cas) = %v, %v; want [app]", keys, err)
	}
}

func TestNotFound(t *testing.T) {
	shared := vaulttest.Shared(t)
	ctx := context.Background()
	c := newClient(t, shared, shared.Token)
	_, err := c.KV("secret").Get(ctx, "no/such/path", 0)
	wantKind(t, err, fault.NotFound)
	if !strings.Contains(err.Error(), "secret/data/no/such/path") {
		t.Errorf("error %q does not name the path", err)
	}
	_, err = c.Read(ctx, "secret/data/no/such/path")
	wantKind(t, err, fault.NotFound)
}

func TestBadTokenDenied(t *testing.T) {
	shared := vaulttest.Shared(t)
	c := newClient(t, shared, "hvs.not-a-real-token")
	_, err := c.KV("secret").Get(context.Background(), "anything", 0)
	wantKind(t, err, fault.Denied)
}

func TestPolicyDenied(t *testing.T) {
	shared := vaulttest.Shared(t)
	ctx := context.Background()
	root := shared.Client()
	if err := root.Sys().PutPolicy("read-only-a", `path "secret/data/a/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"read-only-a"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, shared, tok.Auth.ClientToken)
	_, err = c.KV("secret").Put(ctx, "a/x", map[string]any{"k": "v"}, vaultclient.NoCAS)
	wantKind(t, err, fault.Denied)
}

func TestBadRequest(t *testing.T) {
	shared := vaulttest.Shared(t)
	c := newClient(t, shared, shared.Token)
	_, err := c.Write(context.Background(), "sys/mounts/broken", map[string]any{"type": "no-such-engine"})
	if k := fault.KindOf(err); k != fault.BadRequest {
		t.Fatalf("mounting an unknown engine: kind %q (%v); want bad_request", k, err)
	}
}

func TestNoToken(t *testing.T) {
	shared := vaulttest.Shared(t)
	_, err := vaultclient.New(context.Background(), shared.Flags(), vaultclient.Options{Getenv: env("")})
	wantKind(t, err, fault.Usage)
	if fault.Code(err) != fault.ExitUsage {
		t.Errorf("exit code = %d; want %d", fault.Code(err), fault.ExitUsage)
	}
}

func TestTokenFile(t *testing.T) {
	shared := vaulttest.Shared(t)
	f := shared.Flags()
	f.TokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f.TokenFile, []byte(shared.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := vaultclient.New(context.Background(), f, vaultclient.Options{Getenv: env("")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("token from file does not work: %v", err)
	}
}

func TestAppRoleLoginAndClose(t *testing.T) {
	shared := vaulttest.Shared(t)
	ctx := context.Background()
	root := shared.Client()
	roleID := appRole(t, root, "tester")
	sid, err := root.Logical().Write("auth/approle/role/tester/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := shared.Flags()
	f.RoleIDFile, f.SecretIDFile = filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id")
	os.WriteFile(f.RoleIDFile, []byte(roleID), 0o600)
	os.WriteFile(f.SecretIDFile, []byte(sid.Data["secret_id"].(string)), 0o600)
	c, err := vaultclient.New(ctx, f, vaultclient.Options{Getenv: env("")})
	if err != nil {
		t.Fatalf("AppRole login: %v", err)
	}
	tok := c.Token()
	if _, err := c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		t.Fatalf("looking up the AppRole token: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	after := newClient(t, shared, tok)
	_, err = after.Auth().Token().LookupSelfWithContext(ctx)
	if k := fault.KindOf(vaultclient.Classify(err, "", "")); k != fault.Denied {
		t.Fatalf("after Close the token still works or fails oddly: kind %q (%v)", k, err)
	}

	os.WriteFile(f.SecretIDFile, []byte("wrong-secret-id"), 0o600)
	_, err = vaultclient.New(ctx, f, vaultclient.Options{Getenv: env("")})
	if k := fault.KindOf(err); k != fault.BadRequest && k != fault.Denied {
		t.Fatalf("login with a wrong secret_id: kind %q (%v); want bad_request or denied", k, err)
	}
	if strings.Contains(err.Error(), "wrong-secret-id") {
		t.Fatalf("error %q shows the secret_id", err)
	}
}

func TestSealedStoppedUninitialised(t *testing.T) {
	ctx := context.Background()
	s := vaulttest.Start(t)
	c := newClient(t, s, s.Token)
	if _, err := c.KV("secret").Put(ctx, "x", map[string]any{"k": "v"}, vaultclient.NoCAS); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	_, err := c.KV("secret").Get(ctx, "x", 0)
	wantKind(t, err, fault.Sealed)

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = c.KV("secret").Get(cctx, "x", 0)
	wantKind(t, err, fault.Unreachable)
	if cctx.Err() != nil {
		t.Fatalf("an unreachable server was not reported before the 30 s context ran out")
	}

	u := vaulttest.Start(t, vaulttest.Options{NoInit: true})
	_, err = newClient(t, u, "anything").KV("secret").Get(ctx, "x", 0)
	wantKind(t, err, fault.Uninitialized)
}

func TestWrongCA(t *testing.T) {
	shared := vaulttest.Shared(t)
	f := shared.Flags()
	f.CACert = ""
	f.CAPath = t.TempDir() // an empty trust store
	c, err := vaultclient.New(context.Background(), f, vaultclient.Options{Getenv: env(shared.Token)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(context.Background(), "sys/mounts")
	wantKind(t, err, fault.TLS)
}

func TestPlainHTTPRefusedOffLoopback(t *testing.T) {
	shared := vaulttest.Shared(t)
	for _, skip := range []bool{false, true} {
		for _, addr := range []string{"http://192.0.2.1:8200", "HTTP://vault.example.invalid:8200"} {
			f := shared.Flags()
			f.Address, f.SkipVerify = addr, skip
			_, err := vaultclient.New(context.Background(), f, vaultclient.Options{Getenv: env("t")})
			if fault.KindOf(err) != fault.Usage || !strings.Contains(fmt.Sprint(err), "refusing plain http") {
				t.Errorf("New(%s, tls-skip-verify=%v) = %v; want a usage error refusing plain http", addr, skip, err)
			}
		}
	}
}

// An address without a scheme, and plain http to Vault's TLS port, are
// refused with a message saying what to write instead.
func TestAddressMistakes(t *testing.T) {
	_, err := vaultclient.New(context.Background(), vaultclient.Flags{Conn: vaultclient.Conn{Address: "127.0.0.1:8200"}}, vaultclient.Options{NoAuth: true})
	if fault.KindOf(err) != fault.Usage || !strings.Contains(fmt.Sprint(err), "no scheme: use https://127.0.0.1:8200") {
		t.Errorf("New(127.0.0.1:8200) = %v; want a usage error naming https://", err)
	}
	raw := &api.ResponseError{StatusCode: 400, RawError: true, Errors: []string{"Client sent an HTTP request to an HTTPS server.\n"}}
	err = vaultclient.Classify(raw, "reading", "sys/health")
	if fault.KindOf(err) != fault.Usage || !strings.Contains(fault.Hint(err), "https://") {
		t.Errorf("Classify(http to https) = %v (hint %q); want a usage error hinting https://", err, fault.Hint(err))
	}
}

// A secret_id file holding a wrapping token logs in once; the second login
// is refused as denied, and neither value shows in the error. A wrapping
// token that wraps anything but a secret_id is refused without being used.
func TestWrappedSecretIDFile(t *testing.T) {
	ctx := context.Background()
	s := vaulttest.Start(t)
	root := s.Client()
	roleID := appRole(t, root, "wrapped")
	wc, err := root.CloneWithHeaders()
	if err != nil {
		t.Fatal(err)
	}
	wc.SetToken(root.Token())
	wc.SetWrappingLookupFunc(func(string, string) string { return "5m" })
	w, err := wc.Logical().Write("auth/approle/role/wrapped/secret-id", nil)
	if err != nil || w.WrapInfo == nil {
		t.Fatalf("wrapped secret-id = %+v, %v", w, err)
	}
	dir := t.TempDir()
	f := s.Flags()
	f.RoleIDFile, f.SecretIDFile = filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id")
	os.WriteFile(f.RoleIDFile, []byte(roleID), 0o600)
	os.WriteFile(f.SecretIDFile, []byte(w.WrapInfo.Token+"\n"), 0o600)

	c, err := vaultclient.New(ctx, f, vaultclient.Options{Getenv: env("")})
	if err != nil {
		t.Fatalf("first login with the wrapped secret_id: %v", err)
	}
	if _, err := c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		t.Fatalf("looking up the AppRole token: %v", err)
	}
	c.Close(ctx)

	_, err = vaultclient.New(ctx, f, vaultclient.Options{Getenv: env("")})
	wantKind(t, err, fault.Denied)
	if !strings.Contains(err.Error(), "already used or has expired") || !strings.Contains(err.Error(), f.SecretIDFile) {
		t.Errorf("second login: error %q does not name the file and the used token", err)
	}
	if fault.Hint(err) == "" {
		t.Errorf("second login: no hint")
	}
	if strings.Contains(err.Error(), w.WrapInfo.Token) {
		t.Fatalf("error %q shows the wrapping token", err)
	}

	other, err := wc.Logical().Write("sys/wrapping/wrap", map[string]any{"note": "not a secret_id"})
	if err != nil || other.WrapInfo == nil {
		t.Fatalf("wrapping other data = %+v, %v", other, err)
	}
	os.WriteFile(f.SecretIDFile, []byte(other.WrapInfo.Token), 0o600)
	_, err = vaultclient.New(ctx, f, vaultclient.Options{Getenv: env("")})
	wantKind(t, err, fault.BadInput)
	if _, err := root.Logical().Write("sys/wrapping/lookup", map[string]any{"token": other.WrapInfo.Token}); err != nil {
		t.Fatalf("the refused wrapping token was used up: %v", err)
	}
}

// The retry policy is checked against a stand-in server: these are the
// error paths a real Vault will not produce on demand.
func TestRetryPolicy(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		body     string
		wantKind fault.Kind
		wantHits int32
	}{
		{"5xx is retried", 502, `{"errors":["bad gateway"]}`, fault.Server, 3},
		{"sealed is not retried", 503, `{"errors":["Vault is sealed"]}`, fault.Sealed, 1},
		{"uninitialised is not retried", 501, `{"errors":["Vault is not initialized"]}`, fault.Uninitialized, 1},
		{"denied is not retried", 403, `{"errors":["permission denied"]}`, fault.Denied, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/sys/init" { // asked to tell sealed from uninitialised
					fmt.Fprint(w, `{"initialized": true}`)
					return
				}
				hits.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			f := vaultclient.Flags{Conn: vaultclient.Conn{Address: srv.URL, MaxRetries: 2, Timeout: vaultclient.Duration(5 * time.Second)}}
			c, err := vaultclient.New(context.Background(), f, vaultclient.Options{Getenv: env("t")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Read(context.Background(), "secret/data/x")
			wantKind(t, err, tc.wantKind)
			if got := hits.Load(); got != tc.wantHits {
				t.Errorf("requests = %d; want %d", got, tc.wantHits)
			}
		})
	}
}

func TestClassifyKeepsClassified(t *testing.T) {
	orig := fault.New(fault.Conflict, "writing", "p", errors.New("x"))
	if got := vaultclient.Classify(orig, "other", "q"); got != error(orig) {
		t.Fatalf("Classify(classified) = %v; want it unchanged", got)
	}
	if vaultclient.Classify(nil, "a", "b") != nil {
		t.Fatal("Classify(nil) != nil")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "1m30s": 90 * time.Second, " 5s ": 5 * time.Second} {
		if got, err := vaultclient.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := vaultclient.ParseDuration("soon"); err == nil {
		t.Error("ParseDuration(soon) succeeded")
	}
}

// appRole enables AppRole auth on root's server and creates the role name
// (default policy, 5-minute tokens); it returns the role_id.
func appRole(t *testing.T, root *vaultclient.Client, name string) string {
	t.Helper()
	if err := root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/"+name, map[string]any{"token_policies": "default", "token_ttl": "5m"}); err != nil {
		t.Fatal(err)
	}
	rid, err := root.Logical().Read("auth/approle/role/" + name + "/role-id")
	if err != nil {
		t.Fatal(err)
	}
	return rid.Data["role_id"].(string)
}

func TestInt(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want int
	}{{json.Number("7"), 7}, {float64(3), 3}, {4, 4}, {"12", 12}, {"x", 0}, {nil, 0}, {true, 0}} {
		if got := vaultclient.Int(tt.in); got != tt.want {
			t.Errorf("Int(%#v) = %d; want %d", tt.in, got, tt.want)
		}
	}
}
