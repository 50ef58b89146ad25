package rotation

import (
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Policy is a parsed policies/rotation.hcl.
type Policy struct {
	File      string
	Mount     string // KV v2 mount of every secret
	Classes   map[string]Schedule
	Secrets   []*Rule
	Databases []*Database
	Exempt    []Exemption
	Defaults  Defaults
}

// Defaults apply to every rule that does not set its own.
type Defaults struct {
	Grace        time.Duration // how long the previous value stays labelled "previous"
	HookTimeout  time.Duration
	KeepVersions int           // versions the KV metadata must keep (max_versions)
	Lease        time.Duration // how long a run's claim on a rotation lasts without progress
}

// Exemption is a glob of secrets that need no rotation, with the reason.
type Exemption struct {
	Glob, Reason string
	Pos          hcl.Pos
}

// Rule says how one secret (or a glob of them) rotates.
type Rule struct {
	Path         string // relative to the mount; may end in /* or hold * segments
	Key          string // the field that rotates
	Class        string
	Schedule     Schedule
	Window       *Window
	Generate     Generator
	Set, Test    *Hook
	Grace        time.Duration
	KeepVersions int
	Pos          hcl.Pos
	File         string
}

// Generator makes new values: random characters, or a command's answer.
type Generator struct {
	Length   int
	Alphabet string
	Require  []string // character classes: lower, upper, digit, symbol
	Command  *Hook
}

// Hook is a command run with a JSON request on stdin.
type Hook struct {
	Command []string
	Timeout time.Duration
}

// Database is a PostgreSQL credential rotated by Vault's database secrets
// engine: one static role ("static") or two used in turn ("alternate").
type Database struct {
	Name      string
	Mount     string // database secrets engine mount
	DBName    string // connection name (database/config/<db_name>)
	Strategy  string // static or alternate
	Usernames []string
	Period    time.Duration // rotation_period
	CronSched string        // rotation_schedule (cron), instead of Period
	Path      string        // alternate: KV secret readers use (username, password)
	Schedule  Schedule      // alternate: how often vault-rotate switches users
	Test      *Hook
	Pos       hcl.Pos
	File      string
}

// Roles are the static role names of d.
func (d *Database) Roles() []string {
	if d.Strategy == "alternate" {
		return []string{d.Name + "-a", d.Name + "-b"}
	}
	return []string{d.Name}
}

// Match returns the rule covering the secret at path (relative to the
// mount), the most specific first: an exact path beats a glob.
func (pol *Policy) Match(secretPath string) *Rule {
	var best *Rule
	for _, r := range pol.Secrets {
		if r.Path == secretPath {
			return r
		}
		if ok, _ := matchGlob(r.Path, secretPath); ok && (best == nil || len(r.Path) > len(best.Path)) {
			best = r
		}
	}
	return best
}

// Exempted returns the exemption covering secretPath, or nil.
func (pol *Policy) Exempted(secretPath string) *Exemption {
	for i, e := range pol.Exempt {
		if ok, _ := matchGlob(e.Glob, secretPath); ok {
			return &pol.Exempt[i]
		}
	}
	return nil
}

// matchGlob is path.Match, except that a trailing "/*" (or "*") also covers
// deeper paths, as in Vault policies.
func matchGlob(glob, p string) (bool, error) {
	if strings.HasSuffix(glob, "*") {
		prefix := strings.TrimSuffix(glob, "*")
		if !strings.ContainsAny(prefix, "*?[") {
			return strings.HasPrefix(p, prefix), nil
		}
	}
	return path.Match(glob, p)
}
