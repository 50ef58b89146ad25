package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestParseACL(t *testing.T) {
	src := `# comment
path "secret/data/app/*" {
  capabilities = ["read", "list"]
}

path "secret/metadata/app/*" {
  capabilities = ["read"]
  allowed_parameters = {
    "version" = []
  }
}
`
	p, err := ParseACL("acl/app.hcl", []byte(src))
	if err != nil {
		t.Fatalf("ParseACL: %v", err)
	}
	if p.Name != "app" || p.Text != src {
		t.Errorf("ParseACL name/text = %q/%q; want app and the source unchanged", p.Name, p.Text)
	}
	want := []Rule{
		{Path: "secret/data/app/*", Capabilities: []string{"read", "list"}, Line: 2},
		{Path: "secret/metadata/app/*", Capabilities: []string{"read"}, Line: 6},
	}
	if !reflect.DeepEqual(p.Rules, want) {
		t.Errorf("ParseACL rules = %+v; want %+v", p.Rules, want)
	}
}

func TestParseACLErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, file, src, want string
	}{
		{"unknown capability", "acl/a.hcl", "path \"x/*\" {\n  capabilities = [\"reed\"]\n}\n", `acl/a.hcl:2:3: path "x/*": unknown capability "reed"`},
		{"missing capabilities", "acl/a.hcl", "\n\npath \"x\" {\n}\n", `acl/a.hcl:3:1: path "x": no capabilities`},
		{"duplicate path", "acl/a.hcl", "path \"x\" {\n capabilities=[\"read\"]\n}\npath \"x\" {\n capabilities=[\"list\"]\n}\n", `acl/a.hcl:4:1: path "x" is declared twice (also at line 1)`},
		{"top-level attribute", "acl/a.hcl", "name = \"a\"\n", `acl/a.hcl:1:1: unexpected argument "name"`},
		{"wrong block", "acl/a.hcl", "\npaths \"x\" {\n}\n", `acl/a.hcl:2:1: unexpected block "paths"`},
		{"unknown argument", "acl/a.hcl", "path \"x\" {\n  capabilities = [\"read\"]\n  capability = \"read\"\n}\n", `acl/a.hcl:3:3: path "x": unknown argument "capability"`},
		{"not a list", "acl/a.hcl", "path \"x\" {\n  capabilities = \"read\"\n}\n", `acl/a.hcl:2:3: capabilities: want a list of strings`},
		{"syntax", "acl/a.hcl", "path \"x\" {\n  capabilities = [\"read\"\n}\n", `acl/a.hcl:`},
		{"bad file name", "acl/Admin.hcl", "path \"x\" {\n capabilities=[\"read\"]\n}\n", `acl/Admin.hcl: file name "Admin" is not a valid name`},
		{"root", "acl/root.hcl", "path \"x\" {\n capabilities=[\"read\"]\n}\n", `the root policy is built into Vault`},
		{"empty", "acl/a.hcl", "# nothing\n", `acl/a.hcl: policy a has no path blocks`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseACL(tt.file, []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseACL(%q) = %v; want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
}

func TestParseAppRole(t *testing.T) {
	src := `policies = ["app", "default"]
token_ttl = "1h"
token_max_ttl = 14400
token_bound_cidrs = ["127.0.0.1/32", "10.0.0.0/8"]
secret_id_ttl = "720h"
secret_id_num_uses = 3
secret_id_bound_cidrs = ["127.0.0.1/32"]
token_type = "service"
`
	a, err := ParseAppRole("approles/app.hcl", []byte(src))
	if err != nil {
		t.Fatalf("ParseAppRole: %v", err)
	}
	want := &AppRole{Name: "app", File: "approles/app.hcl", Policies: []string{"app", "default"},
		TokenTTL: 3600, TokenMaxTTL: 14400, TokenType: "service", SecretIDTTL: 720 * 3600, SecretIDNumUses: 3,
		SecretIDBoundCIDRs: []string{"127.0.0.1/32"}, TokenBoundCIDRs: []string{"10.0.0.0/8", "127.0.0.1/32"},
		policyPos: []hcl.Pos{{Line: 1, Column: 1}, {Line: 1, Column: 1}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("ParseAppRole = %+v; want %+v", a, want)
	}
}

func TestParseAppRolePeriodic(t *testing.T) {
	a, err := ParseAppRole("approles/broker.hcl", []byte("policies = [\"broker\"]\ntoken_period = \"72h\"\n"))
	if err != nil {
		t.Fatalf("ParseAppRole: %v", err)
	}
	if a.TokenPeriod != 72*3600 || a.roleFields()["token_period"] != 72*3600 {
		t.Errorf("ParseAppRole(token_period 72h) = period %d, field %v; want 259200", a.TokenPeriod, a.roleFields()["token_period"])
	}
}

func TestParseAppRoleErrorsNameTheLine(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no policies", "token_ttl = \"1h\"\n", `approles/app.hcl:1:1: missing required argument`},
		{"empty policies", "\npolicies = []\n", `approles/app.hcl:2:1: policies: at least one policy is needed`},
		{"root policy", "policies = [\"root\"]\n", `approles/app.hcl:1:1: policies: an AppRole must never carry the root policy`},
		{"bad duration", "policies = [\"a\"]\ntoken_ttl = \"1 hour\"\n", `approles/app.hcl:2:1: token_ttl: invalid duration "1 hour"`},
		{"ttl over max", "policies = [\"a\"]\ntoken_ttl = \"2h\"\ntoken_max_ttl = \"1h\"\n", `approles/app.hcl:2:1: token_ttl (7200s) is longer than token_max_ttl (3600s)`},
		{"bad cidr", "policies = [\"a\"]\n\nsecret_id_bound_cidrs = [\"127.0.0.1\"]\n", `approles/app.hcl:3:1: secret_id_bound_cidrs: "127.0.0.1" is not a CIDR block`},
		{"host bits", "policies = [\"a\"]\ntoken_bound_cidrs = [\"10.1.2.3/8\"]\n", `approles/app.hcl:2:1: token_bound_cidrs: "10.1.2.3/8" has host bits set; did you mean 10.0.0.0/8`},
		{"negative uses", "policies = [\"a\"]\nsecret_id_num_uses = -1\n", `approles/app.hcl:2:1: secret_id_num_uses: must be 0 (unlimited) or more`},
		{"unknown argument", "policies = [\"a\"]\nsecret_id_ttls = \"1h\"\n", `approles/app.hcl:2:1: unsupported argument`},
		{"token type", "policies = [\"a\"]\ntoken_type = \"x\"\n", `approles/app.hcl:2:1: token_type: want default, service or batch`},
		{"duplicate policy", "policies = [\"a\", \"a\"]\n", `policies: "a" is listed twice`},
		{"period with max", "policies = [\"a\"]\ntoken_max_ttl = \"1h\"\ntoken_period = \"72h\"\n", `approles/app.hcl:3:1: token_period is the token's lifetime policy on its own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAppRole("approles/app.hcl", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseAppRole(%q) = %v; want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
}

func TestParseMatrix(t *testing.T) {
	src := `row "a-reads" {
  identity   = "a"
  path       = "/secret/data/a/x"
  capability = "read"
  expect     = "allow"
}

row "a-no-delete" {
  identity   = "a"
  path       = "secret/data/a/x"
  capability = "delete"
  expect     = "deny"
}

row "a-sudo" {
  identity   = "a"
  path       = "sys/audit"
  capability = "update"
  expect     = "allow"
  operation  = "none"
}
`
	rows, err := ParseMatrix("matrix.hcl", []byte(src))
	if err != nil {
		t.Fatalf("ParseMatrix: %v", err)
	}
	want := []Row{
		{Name: "a-reads", Identity: "a", Path: "secret/data/a/x", Capability: "read", Expect: Allow, Operation: OpRead, File: "matrix.hcl", Line: 1, Col: 1},
		{Name: "a-no-delete", Identity: "a", Path: "secret/data/a/x", Capability: "delete", Expect: Deny, Operation: OpDelete, File: "matrix.hcl", Line: 8, Col: 1},
		{Name: "a-sudo", Identity: "a", Path: "sys/audit", Capability: "update", Expect: Allow, Operation: OpNone, File: "matrix.hcl", Line: 15, Col: 1},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("ParseMatrix = %+v; want %+v", rows, want)
	}
}

func TestParseMatrixDataAndLogin(t *testing.T) {
	src := `row "r-no-prune" {
  identity   = "r"
  path       = "secret/metadata/a/x"
  capability = "patch"
  expect     = "deny"
  data       = { max_versions = 1, custom_metadata = { stage = "s" } }
}

row "r-wrapped-once" {
  identity   = "r"
  path       = "auth/approle/login"
  capability = "update"
  expect     = "deny"
  login      = "wrapped-reuse"
}

row "b-mints-wrapped" {
  identity   = "b"
  path       = "auth/approle/role/r/secret-id"
  capability = "update"
  expect     = "allow"
  wrap_ttl   = "5m"
  data       = { num_uses = "1" }
}
`
	rows, err := ParseMatrix("matrix.hcl", []byte(src))
	if err != nil {
		t.Fatalf("ParseMatrix: %v", err)
	}
	if got := string(rows[0].Data); got != `{"custom_metadata":{"stage":"s"},"max_versions":1}` || rows[0].Operation != OpPatch {
		t.Errorf("data row = %s, operation %q; want the object as JSON, patch", got, rows[0].Operation)
	}
	if rows[2].WrapTTL != "5m" || rows[2].Operation != OpWrite {
		t.Errorf("wrapped row = %+v; want wrap_ttl 5m, operation write", rows[2])
	}
	if rows[1].Login != LoginWrappedReuse || rows[1].Operation != OpLogin || rows[1].Data != nil {
		t.Errorf("login row = %+v; want login wrapped-reuse, operation login", rows[1])
	}
}

func TestDefaultOperationNeverDeletesOnAllowRows(t *testing.T) {
	if op := defaultOperation("delete", Allow); op != OpNone {
		t.Errorf("defaultOperation(delete, allow) = %q; want none", op)
	}
	if op := defaultOperation("delete", Deny); op != OpDelete {
		t.Errorf("defaultOperation(delete, deny) = %q; want delete", op)
	}
}

func TestParseMatrixErrorsNameTheLine(t *testing.T) {
	row := func(name, cap, expect, extra string) string {
		return "row \"" + name + "\" {\n  identity = \"a\"\n  path = \"p\"\n  capability = \"" + cap + "\"\n  expect = \"" + expect + "\"\n" + extra + "}\n"
	}
	tests := []struct{ name, src, want string }{
		{"bad expect", row("r", "read", "maybe", ""), `matrix.hcl:5:3: row "r": expect must be "allow" or "deny", not "maybe"`},
		{"bad capability", row("r", "reed", "allow", ""), `matrix.hcl:4:3: row "r": unknown capability "reed"`},
		{"bad operation", row("r", "read", "allow", "  operation = \"get\"\n"), `matrix.hcl:6:3: row "r": operation must be`},
		{"duplicate", row("r", "read", "allow", "") + "\n" + row("r", "list", "allow", ""), `matrix.hcl:8:1: row "r": name used twice (also at line 1)`},
		{"missing field", "row \"r\" {\n  identity = \"a\"\n}\n", `matrix.hcl:1:9: missing required argument`},
		{"wrong block", "rows \"r\" {\n}\n", `matrix.hcl:1:1: unsupported block type`},
		{"data on a read", row("r", "read", "allow", "  data = { a = 1 }\n"), `matrix.hcl:6:3: row "r": data is a request body: only for write and patch probes`},
		{"data not an object", row("r", "update", "allow", "  data = [1]\n"), `matrix.hcl:6:3: row "r": data must be an object`},
		{"bad login", row("r", "update", "allow", "  login = \"twice\"\n"), `matrix.hcl:6:3: row "r": login must be "wrapped" or "wrapped-reuse", not "twice"`},
		{"login off a login path", row("r", "update", "allow", "  login = \"wrapped\"\n"), `matrix.hcl:6:3: row "r": a login row has path "auth/<mount>/login"`},
		{"bad wrap_ttl", row("r", "update", "allow", "  wrap_ttl = \"soon\"\n"), `matrix.hcl:6:3: row "r": wrap_ttl must be a duration such as "5m", not "soon"`},
		{"wrap_ttl on a read", row("r", "read", "allow", "  wrap_ttl = \"5m\"\n"), `matrix.hcl:6:3: row "r": wrap_ttl wraps a write probe's answer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMatrix("matrix.hcl", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseMatrix(%q) = %v; want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDirReportsEveryBrokenReference(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"acl/a.hcl":      "path \"secret/data/a/*\" {\n  capabilities = [\"read\"]\n}\n",
		"approles/a.hcl": "policies = [\"a\", \"b\"]\n",
		"matrix.hcl":     "row \"r\" {\n  identity = \"nobody\"\n  path = \"p\"\n  capability = \"read\"\n  expect = \"allow\"\n}\n",
	})
	_, err := LoadDir(dir)
	if err == nil {
		t.Fatal("LoadDir = nil error; want broken references reported")
	}
	for _, want := range []string{
		`approles/a.hcl:1:1: approle a: policy "b" has no file acl/b.hcl`,
		`matrix.hcl:1:1: row "r": identity "nobody" is neither an AppRole`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadDir error = %v; want it to contain %q", err, want)
		}
	}
}

func TestLoadDirShipped(t *testing.T) {
	set, err := LoadDir("../../policies")
	if err != nil {
		t.Fatalf("LoadDir(policies) = %v", err)
	}
	for _, name := range []string{"admin", "policy-sync", "prometheus", "dagster-analytics", "importer", "rotator", "snapshot", "auditor"} {
		if set.Policy(name) == nil {
			t.Errorf("shipped policies lack %s", name)
		}
		if set.AppRole(name) == nil {
			t.Errorf("shipped AppRoles lack %s", name)
		}
	}
	if len(set.Matrix) == 0 {
		t.Error("shipped matrix has no rows")
	}
	if f := Lint(set); len(f) != 0 {
		t.Errorf("Lint(shipped policies) = %+v; want no findings", f)
	}
	idents := map[string]map[string]bool{}
	for _, r := range set.Matrix {
		if idents[r.Identity] == nil {
			idents[r.Identity] = map[string]bool{}
		}
		idents[r.Identity][r.Expect] = true
	}
	for id, ex := range idents {
		if !ex[Allow] || !ex[Deny] {
			t.Errorf("matrix rows of %s = %v; want both allow and deny rows, to catch under- and over-privilege", id, ex)
		}
	}
}

func TestShippedIsTheDirectory(t *testing.T) {
	emb, err := Shipped()
	if err != nil {
		t.Fatalf("Shipped() = %v", err)
	}
	dir, err := LoadDir("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Policies) != len(dir.Policies) || len(emb.AppRoles) != len(dir.AppRoles) || len(emb.Matrix) != len(dir.Matrix) {
		t.Fatalf("Shipped() has %d/%d/%d policies/approles/rows; the directory %d/%d/%d",
			len(emb.Policies), len(emb.AppRoles), len(emb.Matrix), len(dir.Policies), len(dir.AppRoles), len(dir.Matrix))
	}
	for i, p := range emb.Policies {
		if p.Name != dir.Policies[i].Name || p.Text != dir.Policies[i].Text || p.File != filepath.Join("policies", "acl", p.Name+".hcl") {
			t.Errorf("Shipped() policy %s (%s) differs from %s", p.Name, p.File, dir.Policies[i].File)
		}
	}
}

// Root-equivalence comes from writing policies, roles or tokens and from
// touching audit devices or restoring snapshots: only policy-sync may do
// the first (README and policies/README.md name it), nobody the others.
func TestOnlyPolicySyncWritesAccessControl(t *testing.T) {
	set, err := LoadDir("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	writes := func(caps []string) bool {
		for _, c := range caps {
			switch c {
			case "create", "update", "patch", "delete", "sudo":
				return true
			}
		}
		return false
	}
	for _, p := range set.Policies {
		for _, r := range p.Rules {
			if !writes(r.Capabilities) {
				continue
			}
			switch {
			case strings.HasPrefix(r.Path, "sys/policies/") || r.Path == "auth/approle/role/*" || r.Path == "sys/auth/approle":
				if p.Name != "policy-sync" {
					t.Errorf("%s:%d: %s writes %s: only policy-sync may change access control", p.File, r.Line, p.Name, r.Path)
				}
			case strings.HasPrefix(r.Path, "auth/token/create") || strings.HasPrefix(r.Path, "auth/token/roles"):
				t.Errorf("%s:%d: %s may create tokens (%s): tokens come from logins", p.File, r.Line, p.Name, r.Path)
			case strings.HasPrefix(r.Path, "sys/audit/"):
				t.Errorf("%s:%d: %s may change audit devices (%s): that needs the root quorum", p.File, r.Line, p.Name, r.Path)
			case strings.HasPrefix(r.Path, "secret/destroy/"):
				t.Errorf("%s:%d: %s may destroy secret versions: nobody may", p.File, r.Line, p.Name)
			case strings.HasPrefix(r.Path, "sys/storage/raft/snapshot") || strings.HasPrefix(r.Path, "sys/storage/raft/*") || r.Path == "sys/*" || r.Path == "*":
				// update on snapshot restores it, on snapshot-force restores
				// another cluster's: break-glass, the root quorum only.
				t.Errorf("%s:%d: %s may restore snapshots (%s): that needs the root quorum", p.File, r.Line, p.Name, r.Path)
			}
		}
	}
}
