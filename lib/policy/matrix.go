package policy

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/vaultpipe/vaultpipe/lib/duration"
	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
)

// Row is one expectation of the access matrix: Identity (an AppRole, or a
// policy for identities that log in otherwise, such as admin) must be
// allowed or denied Capability on Path.
type Row struct {
	Name       string
	Identity   string
	Path       string
	Capability string
	Expect     string // allow or deny
	// Operation is the real request Check makes to confirm what
	// sys/capabilities-self says: read, list, write, patch, delete or none.
	Operation string
	// Data, when set, is the JSON body of a write or patch probe, for
	// rows about allowed_parameters (which sys/capabilities-self cannot
	// see): a deny row with Data is decided by the real request alone.
	Data json.RawMessage
	// Login, when set, makes the row about logging in rather than a path:
	// "wrapped" logs in with a response-wrapped secret_id (allow),
	// "wrapped-reuse" then tries the same wrapping token again (deny).
	Login string
	// WrapTTL, when set, sends the probe response-wrapped (for paths whose
	// policy sets min_wrapping_ttl, which refuses unwrapped requests).
	WrapTTL string
	File    string
	Line    int
	Col     int
}

// Expectations.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Real operations a row can be proven with.
const (
	OpRead   = "read"
	OpList   = "list"
	OpWrite  = "write"
	OpPatch  = "patch"
	OpDelete = "delete"
	OpNone   = "none"
	// OpLogin is the operation of login rows (set by the parser).
	OpLogin = "login"
)

// Login checks a row can ask for.
const (
	LoginWrapped      = "wrapped"
	LoginWrappedReuse = "wrapped-reuse"
)

var operations = map[string]bool{OpRead: true, OpList: true, OpWrite: true, OpPatch: true, OpDelete: true, OpNone: true}

type matrixFile struct {
	Rows []matrixRow `hcl:"row,block"`
}

type matrixRow struct {
	Name       string         `hcl:"name,label"`
	Identity   string         `hcl:"identity"`
	Path       string         `hcl:"path"`
	Capability string         `hcl:"capability"`
	Expect     string         `hcl:"expect"`
	Operation  *string        `hcl:"operation,optional"`
	Data       hcl.Expression `hcl:"data,optional"`
	Login      *string        `hcl:"login,optional"`
	WrapTTL    *string        `hcl:"wrap_ttl,optional"`
	DefRange   hcl.Range      `hcl:",def_range"`
}

// ParseMatrix reads the access matrix: a list of
//
//	row "analytics-reads-own-secrets" {
//	  identity   = "dagster-analytics"
//	  path       = "secret/data/analytics/warehouse"
//	  capability = "read"
//	  expect     = "allow"
//	}
//
// blocks with unique names. Optional: operation (the real request),
// data (its JSON body, as an HCL object) and login (wrapped or
// wrapped-reuse, for rows about logging in with a wrapped secret_id) and
// wrap_ttl (the probe is sent response-wrapped).
func ParseMatrix(file string, src []byte) ([]Row, error) {
	body, err := hcldiag.Parse(file, src)
	if err != nil {
		return nil, err
	}
	var raw matrixFile
	if diags := gohcl.DecodeBody(body, nil, &raw); diags.HasErrors() {
		return nil, hcldiag.Diagnostics(diags)
	}
	blocks := body.Blocks
	attrPos := func(i int, name string) hcl.Pos {
		if i < len(blocks) {
			if a, ok := blocks[i].Body.Attributes[name]; ok {
				return a.SrcRange.Start
			}
		}
		return raw.Rows[i].DefRange.Start
	}
	var (
		rows []Row
		errs []error
		seen = map[string]int{}
	)
	for i, r := range raw.Rows {
		pos := r.DefRange.Start
		row := Row{Name: r.Name, Identity: r.Identity, Path: strings.TrimPrefix(r.Path, "/"),
			Capability: r.Capability, Expect: r.Expect, File: file, Line: pos.Line, Col: pos.Column}
		if strings.TrimSpace(r.Name) == "" {
			errs = append(errs, hcldiag.Errorf(file, pos, "row: empty name"))
		}
		if prev, dup := seen[r.Name]; dup {
			errs = append(errs, hcldiag.Errorf(file, pos, "row %q: name used twice (also at line %d)", r.Name, prev))
		}
		seen[r.Name] = pos.Line
		if row.Path == "" {
			errs = append(errs, hcldiag.Errorf(file, attrPos(i, "path"), "row %q: empty path", r.Name))
		}
		if !knownCapabilities[r.Capability] || r.Capability == "deny" {
			errs = append(errs, hcldiag.Errorf(file, attrPos(i, "capability"), "row %q: unknown capability %q: want create, read, update, patch, delete, list, sudo, subscribe or recover", r.Name, r.Capability))
		}
		if r.Expect != Allow && r.Expect != Deny {
			errs = append(errs, hcldiag.Errorf(file, attrPos(i, "expect"), "row %q: expect must be \"allow\" or \"deny\", not %q", r.Name, r.Expect))
		}
		row.Operation = defaultOperation(r.Capability, r.Expect)
		if r.Operation != nil {
			if !operations[*r.Operation] {
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "operation"), "row %q: operation must be read, list, write, patch, delete or none, not %q", r.Name, *r.Operation))
			}
			row.Operation = *r.Operation
		}
		if r.Data != nil {
			if v, diags := r.Data.Value(nil); diags.HasErrors() {
				errs = append(errs, hcldiag.Diagnostics(diags))
			} else if !v.IsNull() {
				if !v.Type().IsObjectType() && !v.Type().IsMapType() {
					errs = append(errs, hcldiag.Errorf(file, attrPos(i, "data"), "row %q: data must be an object such as { max_versions = 1 }", r.Name))
				} else if b, err := ctyjson.Marshal(v, v.Type()); err != nil {
					errs = append(errs, hcldiag.Errorf(file, attrPos(i, "data"), "row %q: data: %v", r.Name, err))
				} else {
					row.Data = b
				}
			}
			if row.Data != nil && row.Operation != OpWrite && row.Operation != OpPatch {
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "data"), "row %q: data is a request body: only for write and patch probes (capability create, update or patch)", r.Name))
			}
		}
		if r.Login != nil {
			row.Login = *r.Login
			switch {
			case row.Login != LoginWrapped && row.Login != LoginWrappedReuse:
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "login"), "row %q: login must be \"wrapped\" or \"wrapped-reuse\", not %q", r.Name, row.Login))
			case !strings.HasPrefix(row.Path, "auth/") || !strings.HasSuffix(row.Path, "/login") || r.Capability != "update":
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "login"), "row %q: a login row has path \"auth/<mount>/login\" and capability \"update\"", r.Name))
			case r.Operation != nil || row.Data != nil:
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "login"), "row %q: a login row takes no operation or data", r.Name))
			case row.Login == LoginWrapped && r.Expect != Allow, row.Login == LoginWrappedReuse && r.Expect != Deny:
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "expect"), "row %q: a wrapped login must be allowed and its reuse denied", r.Name))
			}
			row.Operation = OpLogin
		}
		if r.WrapTTL != nil {
			row.WrapTTL = *r.WrapTTL
			if d, err := duration.Parse(row.WrapTTL); err != nil || d <= 0 {
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "wrap_ttl"), "row %q: wrap_ttl must be a duration such as \"5m\", not %q", r.Name, row.WrapTTL))
			} else if row.Operation != OpWrite {
				errs = append(errs, hcldiag.Errorf(file, attrPos(i, "wrap_ttl"), "row %q: wrap_ttl wraps a write probe's answer: only for capability create or update", r.Name))
			}
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, &fault.Error{Kind: fault.BadInput, Err: errors.Join(errs...)}
	}
	return rows, nil
}

// defaultOperation picks the request that proves a capability. Writes send
// an empty body, which KV v2 and most endpoints refuse with 400 after the
// ACL check has passed, so nothing is written. A delete is only tried where
// it is expected to be refused.
func defaultOperation(capability, expect string) string {
	switch capability {
	case "read":
		return OpRead
	case "list":
		return OpList
	case "create", "update":
		return OpWrite
	case "patch":
		return OpPatch
	case "delete":
		if expect == Deny {
			return OpDelete
		}
	}
	return OpNone
}
