// Package policies embeds the shipped policy files — acl/, approles/ and
// matrix.hcl — so that vault-install can apply them at bootstrap without a
// checkout of this repository:
//
//	set, err := policy.LoadFS(policies.FS, "policies")
//
// The files themselves are documented in README.md.
package policies

import "embed"

// FS holds acl/*.hcl, approles/*.hcl and matrix.hcl.
//
//go:embed acl/*.hcl approles/*.hcl matrix.hcl
var FS embed.FS
