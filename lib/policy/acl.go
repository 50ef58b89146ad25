package policy

import "strings"

// Missing gives the capabilities of caps that the policy does not grant on
// vpath, by Vault's rule: the most specific matching path wins, and deny
// overrides.
func (a *ACL) Missing(vpath string, caps ...string) []string {
	var best *Rule
	bestScore := -1
	for i := range a.Rules {
		r := &a.Rules[i]
		score, ok := matchPath(r.Path, vpath)
		if ok && score > bestScore {
			best, bestScore = r, score
		}
	}
	if best == nil {
		return caps
	}
	have := map[string]bool{}
	for _, c := range best.Capabilities {
		have[c] = true
	}
	if have["deny"] {
		return caps
	}
	var missing []string
	for _, c := range caps {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	return missing
}

// matchPath matches a policy path (with + segments and a trailing *) and
// scores the match: exact beats glob, a longer prefix beats a shorter.
func matchPath(pattern, p string) (int, bool) {
	glob := strings.HasSuffix(pattern, "*")
	pat := strings.TrimSuffix(pattern, "*")
	ps, ss := strings.Split(pat, "/"), strings.Split(p, "/")
	if !glob && len(ps) != len(ss) {
		return 0, false
	}
	if len(ss) < len(ps) {
		return 0, false
	}
	for i, seg := range ps {
		last := i == len(ps)-1
		switch {
		case seg == "+":
		case last && glob:
			if !strings.HasPrefix(ss[i], seg) {
				return 0, false
			}
		case seg != ss[i]:
			return 0, false
		}
	}
	if !glob {
		return 1 << 20, true
	}
	return len(pat), true
}
