package policy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/policies"
)

// Kinds of objects Sync manages.
const (
	KindAuth    = "auth"
	KindPolicy  = "policy"
	KindAppRole = "approle"
)

// Actions in a sync report.
const (
	ActionCreate     = "create"
	ActionUpdate     = "update"
	ActionUnchanged  = "unchanged"
	ActionExtraneous = "extraneous" // on the server, not in the files; kept
	ActionDelete     = "delete"     // extraneous and pruned
)

// DefaultMount is where AppRole auth is enabled.
const DefaultMount = "approle"

// SyncOptions adjust Sync.
type SyncOptions struct {
	// DryRun computes the diff without changing anything.
	DryRun bool
	// Prune deletes policies and AppRoles that the files do not declare.
	Prune bool
	// Mount is the AppRole auth mount (DefaultMount when empty).
	Mount string
}

// Change is one line of the diff.
type Change struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Action string   `json:"action"`
	Fields []string `json:"fields,omitempty"` // AppRole parameters that differ
	Paths  []string `json:"paths,omitempty"`  // policy paths added, removed or changed
	File   string   `json:"file,omitempty"`
}

// SyncReport is what Sync found and (unless DryRun) did.
type SyncReport struct {
	DryRun  bool           `json:"dry_run"`
	Prune   bool           `json:"prune"`
	Mount   string         `json:"mount"`
	Changes []Change       `json:"changes"`
	Summary map[string]int `json:"summary"`
	// Applied counts the writes and deletes made (0 on a converged server).
	Applied int `json:"applied"`
}

// Pending reports whether the server differs from the files: anything to
// create, update or delete, and extraneous objects even when not pruning
// (a policy or AppRole nobody declared is drift too).
func (r *SyncReport) Pending() bool {
	for _, c := range r.Changes {
		switch c.Action {
		case ActionCreate, ActionUpdate, ActionDelete, ActionExtraneous:
			return true
		}
	}
	return false
}

// builtinPolicies are never extraneous and never pruned (Vault refuses to
// delete them). default is still compared and written like any other
// policy: every token carries it, so a line added to it is a grant to all.
var builtinPolicies = map[string]bool{"root": true, "default": true}

// Apply converges the server to the policies/ directory dir — or, when dir
// is "", to the files built into this binary (Shipped) — without pruning:
// AppRole auth enabled at approle/, every ACL policy written, every AppRole
// created or updated. It is what vault-install runs at bootstrap, with the
// root token, before revoking it; a second call changes nothing.
func Apply(ctx context.Context, c *vaultclient.Client, dir string) (*SyncReport, error) {
	var (
		set *Set
		err error
	)
	if dir == "" {
		set, err = Shipped()
	} else {
		set, err = LoadDir(dir)
	}
	if err != nil {
		return nil, err
	}
	return Sync(ctx, c, set, SyncOptions{})
}

// Shipped loads the policy files embedded in this build (package policies).
func Shipped() (*Set, error) { return LoadFS(policies.FS, "policies") }

// Sync compares the server with set and, unless opts.DryRun, makes the
// server match: approle auth is enabled if missing, policies are written
// before the AppRoles that use them, and (with opts.Prune) extraneous
// AppRoles are deleted before extraneous policies.
func Sync(ctx context.Context, c *vaultclient.Client, set *Set, opts SyncOptions) (*SyncReport, error) {
	mount := strings.Trim(opts.Mount, "/")
	if mount == "" {
		mount = DefaultMount
	}
	rep := &SyncReport{DryRun: opts.DryRun, Prune: opts.Prune, Mount: mount, Changes: []Change{}, Summary: map[string]int{}}
	add := func(ch Change) {
		rep.Changes = append(rep.Changes, ch)
		rep.Summary[ch.Action]++
	}

	authExists, err := approleEnabled(ctx, c, mount)
	if err != nil {
		return nil, err
	}
	if authExists {
		add(Change{Kind: KindAuth, Name: mount, Action: ActionUnchanged})
	} else {
		add(Change{Kind: KindAuth, Name: mount, Action: ActionCreate})
		if !opts.DryRun {
			err := c.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{
				Type:        "approle",
				Description: "vaultpipe AppRoles (policies/approles)",
			})
			if err != nil {
				return rep, c.Classify(err, "enabling approle auth at", "sys/auth/"+mount)
			}
			rep.Applied++
		}
	}

	// Policies.
	remote, err := c.List(ctx, "sys/policies/acl")
	if err != nil {
		return rep, err
	}
	remoteSet := map[string]bool{}
	for _, n := range remote {
		remoteSet[n] = true
	}
	for _, p := range withDefault(set) {
		action, remoteText := ActionCreate, ""
		if remoteSet[p.Name] {
			s, err := c.Read(ctx, "sys/policies/acl/"+p.Name)
			if err != nil {
				return rep, err
			}
			remoteText, _ = s.Data["policy"].(string)
			action = ActionUpdate
			if remoteText == p.Text {
				action = ActionUnchanged
			}
		}
		ch := Change{Kind: KindPolicy, Name: p.Name, Action: action, File: p.File}
		if action == ActionUpdate {
			ch.Paths = changedPaths(remoteText, p)
		}
		add(ch)
		if action != ActionUnchanged && !opts.DryRun {
			if _, err := c.Write(ctx, "sys/policies/acl/"+p.Name, map[string]any{"policy": p.Text}); err != nil {
				return rep, fault.WithHint(err, "check "+p.File+" with vault-policy lint; Vault's message above names the problem")
			}
			rep.Applied++
		}
	}

	// AppRoles. On a dry run against a server without approle auth there
	// are none yet.
	var remoteRoles []string
	if authExists {
		remoteRoles, err = c.List(ctx, "auth/"+mount+"/role")
		if err != nil {
			return rep, err
		}
	}
	remoteRoleSet := map[string]bool{}
	for _, n := range remoteRoles {
		remoteRoleSet[n] = true
	}
	for _, a := range set.AppRoles {
		want := a.roleFields()
		ch := Change{Kind: KindAppRole, Name: a.Name, Action: ActionCreate, File: a.File}
		path := "auth/" + mount + "/role/" + a.Name
		if remoteRoleSet[a.Name] {
			s, err := c.Read(ctx, path)
			if err != nil {
				return rep, err
			}
			ch.Fields = diffFields(want, s.Data)
			ch.Action = ActionUpdate
			if len(ch.Fields) == 0 {
				ch.Action = ActionUnchanged
			}
		}
		add(ch)
		if ch.Action != ActionUnchanged && !opts.DryRun {
			if _, err := c.Write(ctx, path, want); err != nil {
				return rep, err
			}
			rep.Applied++
		}
	}

	// Extraneous objects, AppRoles first so no role is left pointing at a
	// deleted policy.
	prune := func(kind, name, path string) error {
		ch := Change{Kind: kind, Name: name, Action: ActionExtraneous}
		if opts.Prune {
			ch.Action = ActionDelete
		}
		add(ch)
		if opts.Prune && !opts.DryRun {
			if err := c.Delete(ctx, path); err != nil {
				return err
			}
			rep.Applied++
		}
		return nil
	}
	for _, n := range sortedCopy(remoteRoles) {
		if set.AppRole(n) == nil {
			if err := prune(KindAppRole, n, "auth/"+mount+"/role/"+n); err != nil {
				return rep, err
			}
		}
	}
	for _, n := range sortedCopy(remote) {
		if !builtinPolicies[n] && set.Policy(n) == nil {
			if err := prune(KindPolicy, n, "sys/policies/acl/"+n); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// withDefault is set's policies, plus the shipped acl/default.hcl (Vault's
// own text) when set has none: default is compared whatever the directory.
func withDefault(set *Set) []*ACL {
	if set.Policy("default") != nil {
		return set.Policies
	}
	shipped, err := Shipped()
	if err != nil || shipped.Policy("default") == nil {
		return set.Policies // a build without it fails its own tests
	}
	return append(slices.Clip(set.Policies), shipped.Policy("default"))
}

func approleEnabled(ctx context.Context, c *vaultclient.Client, mount string) (bool, error) {
	auths, err := c.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return false, c.Classify(err, "listing auth methods at", "sys/auth")
	}
	m, ok := auths[mount+"/"]
	if !ok {
		return false, nil
	}
	if m.Type != "approle" {
		return false, fault.New(fault.Conflict, "checking auth method at", "sys/auth/"+mount,
			fmt.Errorf("it is of type %q, not approle", m.Type))
	}
	return true, nil
}

// diffFields names the managed parameters whose values on the server differ
// from want.
func diffFields(want, have map[string]any) []string {
	var out []string
	for k, v := range want {
		if canonical(v) != canonical(have[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// changedPaths names the path blocks whose capabilities differ between the
// policy text on the server and p; nil when the server's text cannot be
// read as a policy (it may use syntax only Vault's parser accepts).
func changedPaths(remote string, p *ACL) []string {
	old, err := ParseACL(p.File, []byte(remote))
	if err != nil {
		return nil
	}
	caps := func(a *ACL) map[string]string {
		m := map[string]string{}
		for _, r := range a.Rules {
			c := append([]string(nil), r.Capabilities...)
			sort.Strings(c)
			m[r.Path] = strings.Join(c, ",")
		}
		return m
	}
	o, n := caps(old), caps(p)
	var out []string
	for path, c := range n {
		if oc, ok := o[path]; !ok || oc != c {
			out = append(out, path)
		}
	}
	for path := range o {
		if _, ok := n[path]; !ok {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out
}
