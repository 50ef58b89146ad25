package rotation

import (
	"context"
	"fmt"

	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
)

// Finding is one problem lint found on a live server.
type Finding struct {
	Kind    string `json:"kind"` // uncovered, max_versions
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Coverage reports every KV secret that no rule covers and no exemption
// names, and every covered secret whose metadata keeps fewer versions
// (max_versions) than its rule's history needs.
func (e *Engine) Coverage(ctx context.Context) ([]Finding, error) {
	e.init()
	paths, err := e.Secrets(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	var covered []*Target
	for _, p := range paths {
		if r := e.Policy.Match(p); r != nil {
			covered = append(covered, &Target{Path: p, Rule: r})
			continue
		}
		if e.Policy.Exempted(p) != nil || e.Policy.databasePath(p) {
			continue
		}
		out = append(out, Finding{Kind: "uncovered", Path: p,
			Message: fmt.Sprintf("no rule in %s rotates %s/%s (add a secret block, or an exempt block with a reason)", e.Policy.File, e.Policy.Mount, p)})
	}
	metas := make([]*meta, len(covered))
	err = e.parallel(ctx, len(covered), func(i int) error {
		m, err := e.readMeta(ctx, covered[i].Path)
		metas[i] = m
		return err
	})
	if err != nil {
		return nil, err
	}
	// A secret's own max_versions, else the engine's, else Vault's 10.
	engine := 0
	if s, err := e.Client.Read(ctx, e.Policy.Mount+"/config"); err == nil {
		engine = vaultclient.Int(s.Data["max_versions"])
	}
	for i, t := range covered {
		mv, where := metas[i].MaxVersions, "the secret's max_versions"
		if mv == 0 {
			mv, where = engine, "the engine's max_versions ("+e.Policy.Mount+"/config)"
		}
		if mv == 0 {
			mv, where = 10, "Vault's default max_versions"
		}
		if mv < t.Rule.KeepVersions {
			out = append(out, Finding{Kind: "max_versions", Path: t.Path,
				Message: fmt.Sprintf("%s is %d; the rule (%s:%d) keeps a history of %d: set max_versions on the engine (%s/config, at bootstrap or with root) or on the secret",
					where, mv, t.Rule.File, t.Rule.Pos.Line, t.Rule.KeepVersions, e.Policy.Mount)})
		}
	}
	return out, nil
}

func (pol *Policy) databasePath(p string) bool {
	for _, d := range pol.Databases {
		if d.Path == p {
			return true
		}
	}
	return false
}
