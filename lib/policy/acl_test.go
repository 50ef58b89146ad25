package policy

import (
	"reflect"
	"testing"
)

func TestACLMissing(t *testing.T) {
	acl := &ACL{Name: "rotator", Rules: []Rule{
		{Path: "secret/data/*", Capabilities: []string{"read"}},
		{Path: "secret/data/app/*", Capabilities: []string{"create", "update", "read"}},
		{Path: "secret/data/app/locked", Capabilities: []string{"deny"}},
		{Path: "db/static-roles/+", Capabilities: []string{"update"}},
	}}
	tests := []struct {
		path string
		caps []string
		want []string
	}{
		{"secret/data/app/db", []string{"create", "update"}, nil},
		{"secret/data/other", []string{"read", "update"}, []string{"update"}},
		{"secret/data/app/locked", []string{"read"}, []string{"read"}},
		{"db/static-roles/app", []string{"update", "read"}, []string{"read"}},
		{"db/static-roles/app/x", []string{"update"}, []string{"update"}},
		{"sys/mounts", []string{"read"}, []string{"read"}},
	}
	for _, tt := range tests {
		if got := acl.Missing(tt.path, tt.caps...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Missing(%q, %v) = %v; want %v", tt.path, tt.caps, got, tt.want)
		}
	}
}
