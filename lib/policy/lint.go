package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Severities of lint findings.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Lint rules.
const (
	RuleSudoWildcard     = "sudo-wildcard"
	RuleSysWildcard      = "sys-wildcard"
	RuleUnusedPolicy     = "unused-policy"
	RuleUntestedIdentity = "untested-identity"
	RuleUnboundSecretID  = "unbound-secret-id"
	RulePrefixGlob       = "prefix-glob"
)

// Finding is one risky pattern.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Name     string `json:"name"` // the policy or AppRole concerned
	Path     string `json:"path,omitempty"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// Lint looks for risky patterns in set without a server:
//
//   - sudo-wildcard (error): sudo on a path with a "*" or "+" glob, which
//     grants root-protected endpoints nobody has listed;
//   - sys-wildcard (error): a "*" covering all of sys/ or a whole sys/
//     subtree ("*", "sys/*", "sys/pol*");
//   - prefix-glob (warning): a "*" inside a name ("database/creds/analytics-*"),
//     which also matches names made for someone else
//     ("analytics-billing-admin"): name them exactly, or end at a "/";
//   - unused-policy (warning): a policy no AppRole carries and no matrix
//     row logs in as;
//   - untested-identity (warning): an AppRole without a matrix row;
//   - unbound-secret-id (warning): an AppRole whose secret_ids never expire
//     and work from anywhere (no secret_id_ttl, no secret_id_bound_cidrs).
//
// Rules that only deny are never risky. Findings come in file and line
// order.
func Lint(set *Set) []Finding {
	var out []Finding
	for _, p := range set.Policies {
		for _, r := range p.Rules {
			if onlyDeny(r.Capabilities) {
				continue
			}
			add := func(rule, sev, format string, args ...any) {
				out = append(out, Finding{File: p.File, Line: r.Line, Name: p.Name, Path: r.Path, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
			}
			if has(r.Capabilities, "sudo") && strings.ContainsAny(r.Path, "*+") {
				add(RuleSudoWildcard, SeverityError, "sudo on %q grants root-protected endpoints nobody listed: name the exact paths", r.Path)
			}
			if sysWildcard(r.Path) {
				add(RuleSysWildcard, SeverityError, "%q covers all of sys/ or a whole sys/ subtree: grant the exact sys/ endpoints needed", r.Path)
			} else if i := strings.IndexByte(r.Path, '*'); i > 0 && r.Path[i-1] != '/' {
				add(RulePrefixGlob, SeverityWarning, "%q also matches any name that merely starts with %q, including ones made for someone else: name each exactly", r.Path, r.Path[strings.LastIndexByte(r.Path[:i], '/')+1:i])
			}
		}
	}
	// Every token carries default (roles never set token_no_default_policy).
	used := map[string]bool{"default": true}
	for _, a := range set.AppRoles {
		for _, p := range a.Policies {
			used[p] = true
		}
	}
	tested := map[string]bool{}
	for _, r := range set.Matrix {
		used[r.Identity] = true
		tested[r.Identity] = true
	}
	for _, p := range set.Policies {
		if !used[p.Name] {
			out = append(out, Finding{File: p.File, Name: p.Name, Rule: RuleUnusedPolicy, Severity: SeverityWarning,
				Message: fmt.Sprintf("policy %s is carried by no AppRole and checked by no matrix row: delete it or use it", p.Name)})
		}
	}
	for _, a := range set.AppRoles {
		if !tested[a.Name] {
			out = append(out, Finding{File: a.File, Name: a.Name, Rule: RuleUntestedIdentity, Severity: SeverityWarning,
				Message: fmt.Sprintf("AppRole %s has no row in the access matrix: add rows for what it must and must not reach", a.Name)})
		}
	}
	for _, a := range set.AppRoles {
		if a.SecretIDTTL == 0 && len(a.SecretIDBoundCIDRs) == 0 {
			out = append(out, Finding{File: a.File, Name: a.Name, Rule: RuleUnboundSecretID, Severity: SeverityWarning,
				Message: fmt.Sprintf("AppRole %s: a leaked secret_id would work forever from anywhere: set secret_id_ttl or secret_id_bound_cidrs", a.Name)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func onlyDeny(caps []string) bool { return has(caps, "deny") }

// sysWildcard reports whether a "*" in path reaches all of sys/ or a whole
// first-level sys/ subtree.
func sysWildcard(path string) bool {
	i := strings.IndexAny(path, "*+")
	if i < 0 || !strings.Contains(path, "*") {
		return false
	}
	lit := path[:i]
	if strings.HasPrefix("sys/", lit) {
		return true // "*", "s*", "sys*", "sys/*", "+/…*"
	}
	rest, ok := strings.CutPrefix(lit, "sys/")
	return ok && !strings.Contains(rest, "/")
}
