package policy

import (
	"reflect"
	"testing"
)

func TestLintRules(t *testing.T) {
	tests := []struct {
		path string
		caps []string
		want []string // rules
	}{
		{"sys/*", []string{"read"}, []string{RuleSysWildcard}},
		{"*", []string{"read"}, []string{RuleSysWildcard}},
		{"sys/pol*", []string{"read"}, []string{RuleSysWildcard}},
		{"+/*", []string{"list"}, []string{RuleSysWildcard}},
		{"sys/*", []string{"deny"}, nil},
		{"sys/policies/acl/*", []string{"read"}, nil},
		{"sys/auth/+", []string{"update", "sudo"}, []string{RuleSudoWildcard}},
		{"sys/auth/+", []string{"update"}, nil},
		{"sys/auth/approle", []string{"update", "sudo"}, nil},
		{"sys/audit", []string{"read", "sudo"}, nil},
		{"sys/audit/*", []string{"update", "sudo"}, []string{RuleSudoWildcard}},
		{"secret/*", []string{"read", "sudo"}, []string{RuleSudoWildcard}},
		{"sys/*", []string{"sudo"}, []string{RuleSudoWildcard, RuleSysWildcard}},
		{"sys/+/x", []string{"sudo"}, []string{RuleSudoWildcard}},
		{"+/config", []string{"sudo"}, []string{RuleSudoWildcard}},
		{"secret/data/*", []string{"read"}, nil},
		{"database/creds/analytics-*", []string{"read"}, []string{RulePrefixGlob}},
		{"secret/data/analytics*", []string{"read"}, []string{RulePrefixGlob}},
		{"database/creds/analytics-ro", []string{"read"}, nil},
	}
	for _, tt := range tests {
		set := &Set{Policies: []*ACL{{Name: "p", File: "acl/p.hcl", Rules: []Rule{{Path: tt.path, Capabilities: tt.caps, Line: 1}}}},
			Matrix: []Row{{Identity: "p"}}}
		var got []string
		for _, f := range Lint(set) {
			got = append(got, f.Rule)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lint(path %q %v) rules = %v; want %v", tt.path, tt.caps, got, tt.want)
		}
	}
}

func TestLintUnusedAndUntested(t *testing.T) {
	set := &Set{
		Policies: []*ACL{
			{Name: "used", File: "acl/used.hcl", Rules: []Rule{{Path: "a/b", Capabilities: []string{"read"}}}},
			{Name: "orphan", File: "acl/orphan.hcl", Rules: []Rule{{Path: "a/b", Capabilities: []string{"read"}}}},
		},
		AppRoles: []*AppRole{{Name: "app", File: "approles/app.hcl", Policies: []string{"used"}, SecretIDTTL: 60}},
	}
	got := Lint(set)
	want := []Finding{
		{File: "acl/orphan.hcl", Name: "orphan", Rule: RuleUnusedPolicy, Severity: SeverityWarning,
			Message: "policy orphan is carried by no AppRole and checked by no matrix row: delete it or use it"},
		{File: "approles/app.hcl", Name: "app", Rule: RuleUntestedIdentity, Severity: SeverityWarning,
			Message: "AppRole app has no row in the access matrix: add rows for what it must and must not reach"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Lint = %+v; want %+v", got, want)
	}
}

func TestLintUnboundSecretID(t *testing.T) {
	for _, tt := range []struct {
		ttl   int
		cidrs []string
		want  bool
	}{
		{0, nil, true},
		{3600, nil, false},
		{0, []string{"127.0.0.1/32"}, false},
	} {
		set := &Set{
			Policies: []*ACL{{Name: "p", Rules: []Rule{{Path: "a/b", Capabilities: []string{"read"}}}}},
			AppRoles: []*AppRole{{Name: "app", Policies: []string{"p"}, SecretIDTTL: tt.ttl, SecretIDBoundCIDRs: tt.cidrs}},
			Matrix:   []Row{{Identity: "app"}},
		}
		got := false
		for _, f := range Lint(set) {
			if f.Rule == RuleUnboundSecretID {
				got = true
			}
		}
		if got != tt.want {
			t.Errorf("Lint(secret_id_ttl %d, cidrs %v) reports unbound-secret-id = %v; want %v", tt.ttl, tt.cidrs, got, tt.want)
		}
	}
}
