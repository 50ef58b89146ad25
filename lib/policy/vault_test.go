package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestMain(m *testing.M) { vaulttest.Main(m) }

// One server for the package: the tests below run in order on it, each
// leaving it synced to the shipped policies.
func server(t testing.TB) *vaulttest.Server {
	t.Helper()
	return vaulttest.Shared(t, vaulttest.Options{Shares: 1})
}

func rootClient(t testing.TB, s *vaulttest.Server) *vaultclient.Client {
	t.Helper()
	c, err := vaultclient.New(context.Background(), s.Flags(), vaultclient.Options{Getenv: func(k string) string {
		if k == "VAULT_TOKEN" {
			return s.Token
		}
		return ""
	}})
	if err != nil {
		t.Fatalf("vaultclient.New: %v", err)
	}
	return c
}

func shipped(t testing.TB) *Set {
	t.Helper()
	set, err := LoadDir("../../policies")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return set
}

// copyShipped copies policies/ into a temporary directory to edit.
func copyShipped(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("../../policies", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../../policies", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func actions(rep *SyncReport) map[string]string {
	out := map[string]string{}
	for _, c := range rep.Changes {
		out[c.Kind+"/"+c.Name] = c.Action
	}
	return out
}

func TestSyncFromEmptyThenConverged(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	set := shipped(t)

	dry, err := Sync(ctx, c, set, SyncOptions{DryRun: true})
	if err != nil {
		t.Fatalf("Sync(dry run) = %v", err)
	}
	if dry.Applied != 0 {
		t.Errorf("Sync(dry run).Applied = %d; want 0", dry.Applied)
	}
	// default exists on every server, and acl/default.hcl is its text.
	want := len(set.Policies) - 1 + len(set.AppRoles) + 1
	if a := actions(dry); a["policy/default"] != ActionUnchanged {
		t.Errorf("Sync(dry run) default = %q; want unchanged (acl/default.hcl is Vault's own text)", a["policy/default"])
	}
	if dry.Summary[ActionCreate] != want {
		t.Errorf("Sync(dry run) creates = %d; want %d (%+v)", dry.Summary[ActionCreate], want, dry.Changes)
	}
	if _, err := c.Read(ctx, "sys/policies/acl/admin"); err == nil {
		t.Fatal("a dry run wrote the admin policy")
	}

	rep, err := Apply(ctx, c, "../../policies")
	if err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if rep.Applied != want {
		t.Errorf("Apply.Applied = %d; want %d", rep.Applied, want)
	}
	again, err := Sync(ctx, c, set, SyncOptions{})
	if err != nil {
		t.Fatalf("Sync(again) = %v", err)
	}
	if again.Applied != 0 || again.Pending() || again.Summary[ActionUnchanged] != want+1 {
		t.Errorf("Sync(again) = %+v; want %d unchanged, nothing applied", again, want+1)
	}
}

func TestShippedMatrixPasses(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	set := shipped(t)
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		t.Fatalf("Sync = %v", err)
	}
	rep, err := Check(ctx, c, set, CheckOptions{})
	if err != nil {
		t.Fatalf("Check = %v", err)
	}
	if rep.Rows != len(set.Matrix) || rep.Failed != 0 {
		for _, m := range rep.Mismatches {
			t.Errorf("mismatch: %+v", m)
		}
		t.Fatalf("Check = %d rows, %d failed; want %d rows, none failed", rep.Rows, rep.Failed, len(set.Matrix))
	}
	// Every row that makes a request must really have made it.
	for _, r := range rep.Results {
		t.Logf("%-45s %-8s %-7s self=%-5s %s=%s (%d) granted=%v", r.Row, r.Capability, r.Expect, r.CapabilitiesSelf, r.Operation, r.OperationResult, r.Status, r.Granted)
		if r.Operation != OpNone && r.OperationResult != r.Expect {
			t.Errorf("row %s: operation %s gave %s; want %s", r.Row, r.Operation, r.OperationResult, r.Expect)
		}
	}
	// Nothing the probes sent may have been written.
	if _, err := c.KV("secret").Get(ctx, "analytics/vault-policy-probe", 0); err == nil {
		t.Error("a probe wrote secret/analytics/vault-policy-probe")
	}
	if _, err := c.Read(ctx, "sys/policies/acl/vault-policy-probe"); err == nil {
		t.Error("a probe wrote the policy vault-policy-probe")
	}
	// Check cleans up: no secret_id it issued is left.
	keys, err := c.List(ctx, "auth/approle/role/dagster-analytics/secret-id")
	if err != nil {
		t.Fatalf("listing secret_id accessors: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("secret_ids left after Check: %d; want 0", len(keys))
	}
}

// policy-sync, logged in through its AppRole with credentials root issued,
// runs sync and check; admin is refused a sync.
func TestPolicySyncRunsSyncAndCheck(t *testing.T) {
	s := server(t)
	root := rootClient(t, s)
	ctx := context.Background()
	set := shipped(t)
	if _, err := Sync(ctx, root, set, SyncOptions{}); err != nil {
		t.Fatalf("Sync = %v", err)
	}
	login := func(app string) *vaultclient.Client {
		t.Helper()
		cr, err := Issue(ctx, root, app, IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		f := s.Flags()
		f.RoleIDFile, f.SecretIDFile = filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id")
		if err := cr.WriteFiles(f.RoleIDFile, f.SecretIDFile); err != nil {
			t.Fatal(err)
		}
		c, err := vaultclient.New(ctx, f, vaultclient.Options{Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatalf("logging in as %s: %v", app, err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	ps := login("policy-sync")

	edited := copyShipped(t)
	p := filepath.Join(edited, "approles", "auditor.hcl")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `token_ttl         = "1h"`, `token_ttl         = "2h"`, 1)), 0o644)
	eset, err := LoadDir(edited)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Sync(ctx, ps, eset, SyncOptions{})
	if err != nil {
		t.Fatalf("Sync as policy-sync = %v", err)
	}
	var got Change
	for _, ch := range rep.Changes {
		if ch.Kind == KindAppRole && ch.Name == "auditor" {
			got = ch
		}
	}
	if got.Action != ActionUpdate || strings.Join(got.Fields, ",") != "token_ttl" {
		t.Errorf("Sync as policy-sync, auditor change = %+v; want update of token_ttl", got)
	}
	crep, err := Check(ctx, ps, eset, CheckOptions{})
	if err != nil {
		t.Fatalf("Check as policy-sync = %v", err)
	}
	if crep.Failed != 0 {
		t.Errorf("Check as policy-sync: %d mismatches: %+v", crep.Failed, crep.Mismatches)
	}
	if _, err := Sync(ctx, ps, set, SyncOptions{}); err != nil {
		t.Fatalf("Sync back as policy-sync = %v", err)
	}

	admin := login("admin")
	if _, err := Sync(ctx, admin, eset, SyncOptions{}); !fault.Is(err, fault.Denied) {
		t.Errorf("Sync as admin = %v; want denied", err)
	}
}

func TestBroadenedPolicyFailsItsRow(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	dir := copyShipped(t)
	p := filepath.Join(dir, "acl", "dagster-analytics.hcl")
	b, _ := os.ReadFile(p)
	broad := strings.Replace(string(b), `path "secret/data/analytics/*"`, `path "secret/data/*"`, 1)
	if broad == string(b) {
		t.Fatal("the shipped dagster-analytics policy changed shape; update this test")
	}
	os.WriteFile(p, []byte(broad), 0o644)
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		t.Fatalf("Sync = %v", err)
	}
	t.Cleanup(func() { Sync(ctx, c, shipped(t), SyncOptions{}) })
	back, err := Sync(ctx, c, shipped(t), SyncOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range back.Changes {
		if ch.Name == "dagster-analytics" && ch.Kind == KindPolicy && strings.Join(ch.Paths, " ") != "secret/data/* secret/data/analytics/*" {
			t.Errorf("diff back to the shipped policy: paths %v; want the removed secret/data/* and the added secret/data/analytics/*", ch.Paths)
		}
	}
	rep, err := Check(ctx, c, set, CheckOptions{Identities: []string{"dagster-analytics"}})
	if err != nil {
		t.Fatalf("Check = %v", err)
	}
	if len(rep.Mismatches) != 1 {
		t.Fatalf("Check mismatches = %+v; want exactly analytics-cannot-read-other-app", rep.Mismatches)
	}
	m := rep.Mismatches[0]
	if m.Row != "analytics-cannot-read-other-app" || m.CapabilitiesSelf != VerdictAllow || m.OperationResult != VerdictAllow || m.Line == 0 {
		t.Errorf("mismatch = %+v; want row analytics-cannot-read-other-app, allowed by both checks, with its line", m)
	}
}

func TestNarrowedPolicyFailsItsRow(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	dir := copyShipped(t)
	p := filepath.Join(dir, "acl", "importer.hcl")
	b, _ := os.ReadFile(p)
	narrow := strings.Replace(string(b), `capabilities = ["read", "list"]`, `capabilities = ["read"]`, 1)
	os.WriteFile(p, []byte(narrow), 0o644)
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		t.Fatalf("Sync = %v", err)
	}
	t.Cleanup(func() { Sync(ctx, c, shipped(t), SyncOptions{}) })
	rep, err := Check(ctx, c, set, CheckOptions{Identities: []string{"importer"}})
	if err != nil {
		t.Fatalf("Check = %v", err)
	}
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].Row != "importer-lists-own-prefix" || rep.Mismatches[0].OperationResult != VerdictDeny {
		t.Errorf("Check mismatches = %+v; want importer-lists-own-prefix, denied", rep.Mismatches)
	}
}

func TestPruneDeletesOnlyWhenAsked(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	set := shipped(t)
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(ctx, "sys/policies/acl/stray", map[string]any{"policy": `path "x" { capabilities = ["read"] }`}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(ctx, "auth/approle/role/stray", map[string]any{"token_policies": "stray"}); err != nil {
		t.Fatal(err)
	}
	rep, err := Sync(ctx, c, set, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := actions(rep)
	if a["policy/stray"] != ActionExtraneous || a["approle/stray"] != ActionExtraneous || rep.Applied != 0 {
		t.Errorf("Sync without prune = %+v; want stray policy and role extraneous, nothing applied", rep)
	}
	if a["policy/default"] != ActionUnchanged {
		t.Errorf("Sync(default) = %q; want unchanged: compared, never extraneous", a["policy/default"])
	}
	if !rep.Pending() {
		t.Error("Pending() = false with extraneous objects; want true even without prune")
	}
	rep, err = Sync(ctx, c, set, SyncOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	a = actions(rep)
	if a["policy/stray"] != ActionDelete || a["approle/stray"] != ActionDelete || rep.Applied != 2 {
		t.Errorf("Sync with prune = %+v; want both deleted", rep)
	}
	if _, err := c.Read(ctx, "sys/policies/acl/stray"); err == nil {
		t.Error("stray policy still there after prune")
	}
	if _, err := c.Read(ctx, "sys/policies/acl/default"); err != nil {
		t.Errorf("default policy gone after prune: %v", err)
	}
}

func TestIssueGivesWorkingCredentials(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	if _, err := Sync(ctx, c, shipped(t), SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	cr, err := Issue(ctx, c, "dagster-analytics", IssueOptions{})
	if err != nil {
		t.Fatalf("Issue = %v", err)
	}
	if cr.SecretIDTTL != 72*3600 {
		t.Errorf("Issue secret_id_ttl = %d; want %d from approles/dagster-analytics.hcl", cr.SecretIDTTL, 72*3600)
	}
	// A shorter life asked for, as the broker does (the strings a policy pins).
	short, err := Issue(ctx, c, "dagster-analytics", IssueOptions{TTL: 10 * time.Minute, NumUses: 1})
	if err != nil {
		t.Fatalf("Issue(TTL 10m, NumUses 1) = %v", err)
	}
	if short.SecretIDTTL != 600 {
		t.Errorf("Issue(TTL 10m) secret_id_ttl = %d; want 600", short.SecretIDTTL)
	}
	dir := t.TempDir()
	rf, sf := filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id")
	if err := cr.WriteFiles(rf, sf); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{rf, sf} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	app, err := vaultclient.New(ctx, vaultclient.Flags{Conn: s.Flags().Conn, Auth: vaultclient.Auth{RoleIDFile: rf, SecretIDFile: sf, AppRoleMount: "approle"}},
		vaultclient.Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("logging in with the issued credentials: %v", err)
	}
	if _, err := c.KV("secret").Put(ctx, "analytics/warehouse", map[string]any{"password": "x"}, vaultclient.NoCAS); err != nil {
		t.Fatal(err)
	}
	if _, err := app.KV("secret").Get(ctx, "analytics/warehouse", 0); err != nil {
		t.Errorf("analytics reading its own secret: %v", err)
	}
	app.Close(ctx)

	if err := DestroySecretID(ctx, c, "", "dagster-analytics", cr.SecretIDAccessor); err != nil {
		t.Fatalf("DestroySecretID = %v", err)
	}
	if _, err := vaultclient.New(ctx, vaultclient.Flags{Conn: s.Flags().Conn, Auth: vaultclient.Auth{RoleIDFile: rf, SecretIDFile: sf, AppRoleMount: "approle"}},
		vaultclient.Options{Getenv: func(string) string { return "" }}); err == nil {
		t.Error("login with a destroyed secret_id succeeded")
	}

	w, err := Issue(ctx, c, "dagster-analytics", IssueOptions{WrapTTL: time.Minute})
	if err != nil {
		t.Fatalf("Issue(wrapped) = %v", err)
	}
	if w.SecretID != "" || w.WrapToken == "" || w.WrapTTL != 60 {
		t.Fatalf("Issue(wrapped) = secret_id set %v, wrap token set %v, wrap ttl %d; want only a 60 s wrapping token", w.SecretID != "", w.WrapToken != "", w.WrapTTL)
	}
	un, err := c.Logical().Unwrap(w.WrapToken)
	if err != nil || un == nil || un.Data["secret_id"] == nil {
		t.Fatalf("unwrapping: %v", err)
	}

	if _, err := Issue(ctx, c, "nobody", IssueOptions{}); err == nil || !strings.Contains(err.Error(), "auth/approle/role/nobody/role-id") {
		t.Errorf("Issue(nobody) = %v; want a not-found error naming the path", err)
	}
}

func TestCheckReportsAnIdentityThatCannotLogIn(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	set := shipped(t)
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "auth/approle/role/snapshot"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Sync(ctx, c, set, SyncOptions{}) })
	rep, err := Check(ctx, c, set, CheckOptions{Identities: []string{"snapshot", "auditor"}})
	if err != nil {
		t.Fatalf("Check = %v; want the failed login reported as mismatches", err)
	}
	n := 0
	for _, r := range set.Matrix {
		if r.Identity == "snapshot" {
			n++
		}
	}
	if rep.Failed != n {
		t.Errorf("Check failed rows = %d; want the %d rows of snapshot", rep.Failed, n)
	}
	for _, m := range rep.Mismatches {
		if m.Identity != "snapshot" || m.CapabilitiesSelf != VerdictError || !strings.Contains(m.Error, "logging in as snapshot") {
			t.Errorf("mismatch %+v; want a snapshot row with a login error", m)
		}
	}
}

func TestSyncRefusesAMountOfAnotherType(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	if err := c.Sys().EnableAuthWithOptions("people", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	_, err := Sync(ctx, c, shipped(t), SyncOptions{Mount: "people"})
	if err == nil || !strings.Contains(err.Error(), `sys/auth/people: it is of type "userpass", not approle`) {
		t.Errorf("Sync(mount of type userpass) = %v; want a conflict naming the mount", err)
	}
}

// A line added to default on the server is drift, and sync puts Vault's
// own text back, even from a directory without acl/default.hcl.
func TestSyncComparesDefault(t *testing.T) {
	s := server(t)
	c := rootClient(t, s)
	ctx := context.Background()
	set := shipped(t)
	if _, err := Sync(ctx, c, set, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	orig, err := c.Read(ctx, "sys/policies/acl/default")
	if err != nil {
		t.Fatal(err)
	}
	text := orig.Data["policy"].(string)
	t.Cleanup(func() { c.Write(ctx, "sys/policies/acl/default", map[string]any{"policy": text}) })
	backdoor := text + "\npath \"auth/approle/role/+/secret-id\" {\n  capabilities = [\"update\"]\n}\n"
	if _, err := c.Write(ctx, "sys/policies/acl/default", map[string]any{"policy": backdoor}); err != nil {
		t.Fatal(err)
	}
	noDefault := &Set{Dir: set.Dir, AppRoles: set.AppRoles}
	for _, p := range set.Policies {
		if p.Name != "default" {
			noDefault.Policies = append(noDefault.Policies, p)
		}
	}
	for _, tc := range []struct {
		name string
		set  *Set
	}{{"with acl/default.hcl", set}, {"without", noDefault}} {
		rep, err := Sync(ctx, c, tc.set, SyncOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if a := actions(rep); a["policy/default"] != ActionUpdate || !rep.Pending() {
			t.Errorf("%s: Sync(dry run) default = %q, Pending() = %v; want update, true", tc.name, a["policy/default"], rep.Pending())
		}
	}
	if _, err := Sync(ctx, c, noDefault, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	now, err := c.Read(ctx, "sys/policies/acl/default")
	if err != nil {
		t.Fatal(err)
	}
	if now.Data["policy"] != text {
		t.Errorf("default after sync = %q; want Vault's own text back", now.Data["policy"])
	}
}
