// Package policy holds vaultpipe's access control as code: the ACL policies
// (policies/acl/<name>.hcl), the AppRoles that carry them
// (policies/approles/<app>.hcl), and the access matrix of expectations
// (policies/matrix.hcl); and the operations on them — Sync (converge a Vault
// server to the files), Issue (fresh AppRole credentials), Check (prove the
// matrix against a live server by logging in as each identity) and Lint
// (risky patterns found without a server).
//
// vault-install calls Apply at bootstrap; vault-policy is the command line.
package policy

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Set is everything a policies/ directory declares.
type Set struct {
	Dir      string
	Policies []*ACL     // sorted by name
	AppRoles []*AppRole // sorted by name
	Matrix   []Row      // in file order
}

// Policy returns the ACL policy called name, or nil.
func (s *Set) Policy(name string) *ACL {
	for _, p := range s.Policies {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// AppRole returns the AppRole called name, or nil.
func (s *Set) AppRole(name string) *AppRole {
	for _, a := range s.AppRoles {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// ACL is one ACL policy file. Text is sent to Vault unchanged; Rules is our
// own reading of it, for lint and for errors that name a line.
type ACL struct {
	Name  string
	File  string
	Text  string
	Rules []Rule
}

// Rule is one path block of an ACL policy.
type Rule struct {
	Path         string
	Capabilities []string
	Line         int
}

// Capabilities Vault knows in path blocks.
var knownCapabilities = map[string]bool{
	"create": true, "read": true, "update": true, "patch": true, "delete": true,
	"list": true, "sudo": true, "deny": true, "subscribe": true, "recover": true,
}

// Arguments a path block may hold besides capabilities; they go to Vault as
// written.
var pathArguments = map[string]bool{
	"capabilities": true, "allowed_parameters": true, "denied_parameters": true,
	"required_parameters": true, "min_wrapping_ttl": true, "max_wrapping_ttl": true,
	"mfa_methods": true, "control_group": true, "subscribe_event_types": true,
	"policy": true,
}

// Vault lower-cases policy names; a file name that it would change would
// never converge.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// MaxFileSize caps each policy, AppRole and matrix file: each is read whole
// before parsing.
const MaxFileSize = 1 << 20

// LoadDir reads dir/acl/*.hcl, dir/approles/*.hcl and dir/matrix.hcl (the
// last two optional) and checks that they refer to each other consistently.
// Every problem found is reported, each naming file:line:col.
func LoadDir(dir string) (*Set, error) {
	return LoadFS(safefile.DirFS(dir), dir)
}

// LoadFS is LoadDir on a file system (such as the policies package's
// embedded copy of the shipped files); errors name files as dir/<path>.
func LoadFS(fsys fs.FS, dir string) (*Set, error) {
	s := &Set{Dir: dir}
	name := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	read := func(p string) ([]byte, error) {
		b, err := safefile.ReadFS(fsys, p, MaxFileSize)
		if err != nil {
			return nil, fault.New(fault.BadInput, "reading", name(p), errors.Unwrap(err))
		}
		return b, nil
	}
	var errs []error
	aclFiles, err := hclFiles(fsys, "acl", name("acl"), true)
	if err != nil {
		return nil, err
	}
	for _, f := range aclFiles {
		src, err := read(f)
		if err != nil {
			return nil, err
		}
		p, err := ParseACL(name(f), src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Policies = append(s.Policies, p)
	}
	roleFiles, err := hclFiles(fsys, "approles", name("approles"), false)
	if err != nil {
		return nil, err
	}
	for _, f := range roleFiles {
		src, err := read(f)
		if err != nil {
			return nil, err
		}
		a, err := ParseAppRole(name(f), src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.AppRoles = append(s.AppRoles, a)
	}
	if src, err := safefile.ReadFS(fsys, "matrix.hcl", MaxFileSize); err == nil {
		rows, err := ParseMatrix(name("matrix.hcl"), src)
		if err != nil {
			errs = append(errs, err)
		}
		s.Matrix = rows
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fault.New(fault.BadInput, "reading", name("matrix.hcl"), errors.Unwrap(err))
	}
	errs = append(errs, s.crossCheck()...)
	if len(errs) > 0 {
		return nil, &fault.Error{Kind: fault.BadInput, Err: errors.Join(errs...)}
	}
	return s, nil
}

// hclFiles lists the *.hcl files of sub, sorted.
func hclFiles(fsys fs.FS, sub, shown string, required bool) ([]string, error) {
	entries, err := fs.ReadDir(fsys, sub)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !required {
			return nil, nil
		}
		return nil, fault.New(fault.BadInput, "reading policy directory", shown, errors.Unwrap(err))
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") {
			continue
		}
		out = append(out, path.Join(sub, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// crossCheck finds references between files that lead nowhere.
func (s *Set) crossCheck() []error {
	var errs []error
	for _, a := range s.AppRoles {
		for i, p := range a.Policies {
			if p == "default" || s.Policy(p) != nil {
				continue
			}
			errs = append(errs, hcldiag.Errorf(a.File, a.policyPos[i], "approle %s: policy %q has no file acl/%s.hcl", a.Name, p, p))
		}
	}
	for _, r := range s.Matrix {
		if s.AppRole(r.Identity) == nil && s.Policy(r.Identity) == nil {
			errs = append(errs, hcldiag.Errorf(r.File, hcl.Pos{Line: r.Line, Column: r.Col}, "row %q: identity %q is neither an AppRole (approles/%s.hcl) nor a policy (acl/%s.hcl)", r.Name, r.Identity, r.Identity, r.Identity))
		}
	}
	return errs
}

// nameFromFile gives the policy or AppRole name a file declares.
func nameFromFile(file string) (string, error) {
	name := strings.TrimSuffix(filepath.Base(file), ".hcl")
	if !nameRE.MatchString(name) {
		return "", hcldiag.Errorf(file, hcl.Pos{}, "file name %q is not a valid name: use lower-case letters, digits, '-', '_' and '.'", name)
	}
	if name == "root" {
		return "", hcldiag.Errorf(file, hcl.Pos{}, "the root policy is built into Vault and cannot be declared")
	}
	return name, nil
}

// ParseACL reads one ACL policy. file names it in errors and gives the
// policy its name.
func ParseACL(file string, src []byte) (*ACL, error) {
	name, err := nameFromFile(file)
	if err != nil {
		return nil, err
	}
	body, err := hcldiag.Parse(file, src)
	if err != nil {
		return nil, err
	}
	p := &ACL{Name: name, File: file, Text: string(src)}
	var errs []error
	for _, a := range hcldiag.SortedAttrs(body.Attributes) {
		errs = append(errs, hcldiag.Errorf(file, a.SrcRange.Start, "unexpected argument %q: a policy holds only path blocks", a.Name))
	}
	seen := map[string]int{}
	for _, b := range body.Blocks {
		pos := b.TypeRange.Start
		line := pos.Line
		if b.Type != "path" || len(b.Labels) != 1 {
			errs = append(errs, hcldiag.Errorf(file, pos, "unexpected block %q: want path \"<path>\" { capabilities = [...] }", b.Type))
			continue
		}
		r := Rule{Path: b.Labels[0], Line: line}
		if prev, dup := seen[r.Path]; dup {
			errs = append(errs, hcldiag.Errorf(file, pos, "path %q is declared twice (also at line %d)", r.Path, prev))
			continue
		}
		seen[r.Path] = line
		for _, a := range hcldiag.SortedAttrs(b.Body.Attributes) {
			if !pathArguments[a.Name] {
				errs = append(errs, hcldiag.Errorf(file, a.SrcRange.Start, "path %q: unknown argument %q", r.Path, a.Name))
			}
		}
		for _, nb := range b.Body.Blocks {
			if nb.Type != "control_group" && nb.Type != "allowed_parameters" && nb.Type != "denied_parameters" {
				errs = append(errs, hcldiag.Errorf(file, nb.TypeRange.Start, "path %q: unexpected block %q", r.Path, nb.Type))
			}
		}
		capAttr, ok := b.Body.Attributes["capabilities"]
		if !ok {
			if _, legacy := b.Body.Attributes["policy"]; !legacy {
				errs = append(errs, hcldiag.Errorf(file, pos, "path %q: no capabilities", r.Path))
			}
			p.Rules = append(p.Rules, r)
			continue
		}
		caps, err := stringList(file, capAttr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range caps {
			if !knownCapabilities[c] {
				errs = append(errs, hcldiag.Errorf(file, capAttr.SrcRange.Start, "path %q: unknown capability %q", r.Path, c))
			}
		}
		r.Capabilities = caps
		p.Rules = append(p.Rules, r)
	}
	if len(errs) > 0 {
		return nil, &fault.Error{Kind: fault.BadInput, Err: errors.Join(errs...)}
	}
	if len(p.Rules) == 0 {
		return nil, hcldiag.Errorf(file, hcl.Pos{}, "policy %s has no path blocks", name)
	}
	return p, nil
}

// stringList evaluates a constant list of strings.
func stringList(file string, a *hclsyntax.Attribute) ([]string, error) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return nil, hcldiag.Diagnostics(diags)
	}
	pos := a.SrcRange.Start
	if v.IsNull() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil, hcldiag.Errorf(file, pos, "%s: want a list of strings", a.Name)
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() || ev.Type() != cty.String {
			return nil, hcldiag.Errorf(file, pos, "%s: want a list of strings", a.Name)
		}
		out = append(out, ev.AsString())
	}
	return out, nil
}
