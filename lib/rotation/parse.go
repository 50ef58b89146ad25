package rotation

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Built-in default periods per class.
var builtinClasses = map[string]string{"database": "90d", "api_key": "90d", "other": "365d"}

// MaxFileSize caps a rotation policy file: it is read whole before parsing.
const MaxFileSize = 4 << 20

// Load reads and checks a rotation policy file.
func Load(file string) (*Policy, error) {
	src, err := safefile.Read(file, MaxFileSize)
	if err != nil {
		return nil, fault.New(fault.BadInput, "reading", file, errors.Unwrap(err))
	}
	return Parse(file, src)
}

// parser gathers every problem of one file.
type parser struct{ hcldiag.List }

// Parse parses a rotation policy; file names it in errors. Every problem
// found is reported, each as file:line:col.
func Parse(file string, src []byte) (*Policy, error) {
	body, err := hcldiag.Parse(file, src)
	if err != nil {
		return nil, err
	}
	p := &parser{hcldiag.List{File: file}}
	pol := &Policy{File: file, Mount: "secret", Classes: map[string]Schedule{},
		Defaults: Defaults{Grace: 7 * 24 * time.Hour, HookTimeout: time.Minute, KeepVersions: 10, Lease: 10 * time.Minute}}
	for c, text := range builtinClasses {
		pol.Classes[c], _ = ParseSchedule(text)
	}
	for _, a := range hcldiag.SortedAttrs(body.Attributes) {
		p.Addf(a.SrcRange.Start, "unexpected argument %q: the file holds defaults, class, secret, database and exempt blocks", a.Name)
	}
	// Defaults and classes first: secrets refer to them wherever they stand.
	for _, b := range body.Blocks {
		switch b.Type {
		case "defaults":
			p.defaults(b, pol)
		case "class":
			if len(b.Labels) != 1 {
				p.Addf(b.TypeRange.Start, "class block needs one label: class \"database\" { period = \"90d\" }")
				continue
			}
			attrs := p.attrs(b.Body, "class", "period")
			if s, ok := p.schedule(attrs["period"]); ok {
				pol.Classes[b.Labels[0]] = s
			} else if attrs["period"] == nil {
				p.Addf(b.TypeRange.Start, "class %q: no period", b.Labels[0])
			}
			p.noBlocks(b.Body, "class")
		}
	}
	seen := map[string]hcl.Pos{}
	dup := func(key string, pos hcl.Pos, what string) bool {
		if prev, ok := seen[key]; ok {
			p.Addf(pos, "%s is declared twice (also at line %d)", what, prev.Line)
			return true
		}
		seen[key] = pos
		return false
	}
	for _, b := range body.Blocks {
		pos := b.TypeRange.Start
		switch b.Type {
		case "defaults", "class":
		case "secret":
			if len(b.Labels) != 1 || strings.Trim(b.Labels[0], "/") == "" {
				p.Addf(pos, "secret block needs one label, the path under the mount: secret \"app/db\" { key = \"password\" }")
				continue
			}
			r := p.secret(b, pol)
			if r != nil && !dup("secret "+r.Path+"#"+r.Key, pos, fmt.Sprintf("secret %q key %q", r.Path, r.Key)) {
				pol.Secrets = append(pol.Secrets, r)
			}
		case "database":
			if len(b.Labels) != 1 {
				p.Addf(pos, "database block needs one label, the static role name: database \"analytics-app\" { ... }")
				continue
			}
			d := p.database(b, pol)
			if d != nil && !dup("database "+d.Name, pos, fmt.Sprintf("database %q", d.Name)) {
				pol.Databases = append(pol.Databases, d)
			}
		case "exempt":
			if len(b.Labels) != 1 {
				p.Addf(pos, "exempt block needs one label, a path glob: exempt \"app/config\" { reason = \"...\" }")
				continue
			}
			attrs := p.attrs(b.Body, "exempt", "reason")
			reason, _ := p.str(attrs["reason"])
			if reason == "" {
				p.Addf(pos, "exempt %q: give a reason", b.Labels[0])
			}
			if _, err := path.Match(b.Labels[0], ""); err != nil {
				p.Addf(b.LabelRanges[0].Start, "exempt %q: bad glob", b.Labels[0])
			}
			pol.Exempt = append(pol.Exempt, Exemption{Glob: strings.Trim(b.Labels[0], "/"), Reason: reason, Pos: pos})
		default:
			p.Addf(pos, "unknown block %q: want defaults, class, secret, database or exempt", b.Type)
		}
	}
	// Two databases in alternate mode writing one KV path would fight.
	for _, d := range pol.Databases {
		if d.Path == "" {
			continue
		}
		for _, r := range pol.Secrets {
			if r.Path == d.Path {
				p.Addf(d.Pos, "database %q: path %q is also a secret rule (line %d); one owner per path", d.Name, d.Path, r.Pos.Line)
			}
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return pol, nil
}

func (p *parser) defaults(b *hclsyntax.Block, pol *Policy) {
	attrs := p.attrs(b.Body, "defaults", "mount", "grace", "hook_timeout", "keep_versions", "lease")
	p.noBlocks(b.Body, "defaults")
	if s, ok := p.str(attrs["mount"]); ok {
		pol.Mount = strings.Trim(s, "/")
	}
	if d, ok := p.duration(attrs["grace"]); ok {
		pol.Defaults.Grace = d
	}
	if d, ok := p.duration(attrs["hook_timeout"]); ok {
		pol.Defaults.HookTimeout = d
	}
	if d, ok := p.duration(attrs["lease"]); ok {
		pol.Defaults.Lease = d
	}
	if n, ok := p.integer(attrs["keep_versions"], 2, 1000); ok {
		pol.Defaults.KeepVersions = n
	}
}

func (p *parser) secret(b *hclsyntax.Block, pol *Policy) *Rule {
	pos := b.TypeRange.Start
	r := &Rule{Path: strings.Trim(b.Labels[0], "/"), Key: "value", Class: "other", Pos: pos, File: p.File,
		Grace: pol.Defaults.Grace, KeepVersions: pol.Defaults.KeepVersions}
	if strings.HasPrefix(r.Path, "_rotation") {
		p.Addf(b.LabelRanges[0].Start, "secret %q: _rotation/ holds vault-rotate's staging records", r.Path)
	}
	if _, err := path.Match(r.Path, ""); err != nil {
		p.Addf(b.LabelRanges[0].Start, "secret %q: bad glob", r.Path)
	}
	attrs := p.attrs(b.Body, "secret", "key", "class", "period", "grace", "keep_versions")
	if s, ok := p.str(attrs["key"]); ok {
		r.Key = s
	}
	if s, ok := p.str(attrs["class"]); ok {
		if _, known := pol.Classes[s]; !known {
			p.Addf(attrs["class"].Expr.Range().Start, "secret %q: unknown class %q (declare it with class %q { period = ... })", r.Path, s, s)
		}
		r.Class = s
	}
	r.Schedule = pol.Classes[r.Class]
	if s, ok := p.schedule(attrs["period"]); ok {
		r.Schedule = s
	}
	if d, ok := p.duration(attrs["grace"]); ok {
		r.Grace = d
	}
	if n, ok := p.integer(attrs["keep_versions"], 2, 1000); ok {
		r.KeepVersions = n
	}
	r.Generate = Generator{Length: 32, Alphabet: alphabets["alnum"], Require: []string{"lower", "upper", "digit"}}
	seenBlocks := map[string]bool{}
	for _, nb := range b.Body.Blocks {
		npos := nb.TypeRange.Start
		if seenBlocks[nb.Type] {
			p.Addf(npos, "secret %q: %s block given twice", r.Path, nb.Type)
			continue
		}
		seenBlocks[nb.Type] = true
		switch nb.Type {
		case "window":
			r.Window = p.window(nb, r.Path)
		case "generate":
			p.generator(nb, r, pol)
		case "set", "test":
			h := p.hook(nb, r.Path, pol.Defaults.HookTimeout)
			if nb.Type == "set" {
				r.Set = h
			} else {
				r.Test = h
			}
		default:
			p.Addf(npos, "secret %q: unknown block %q: want window, generate, set or test", r.Path, nb.Type)
		}
	}
	return r
}

// alphabets are the named character sets of generate { alphabet = … }.
var alphabets = map[string]string{
	"alnum":     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
	"hex":       "0123456789abcdef",
	"base64url": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
	"ascii":     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%+,-./:=?@^_~",
}

var classSets = map[string]string{
	"lower":  "abcdefghijklmnopqrstuvwxyz",
	"upper":  "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"digit":  "0123456789",
	"symbol": "!#%+,-./:=?@^_~*$&()[]{}<>;|",
}

func (p *parser) generator(b *hclsyntax.Block, r *Rule, pol *Policy) {
	attrs := p.attrs(b.Body, "generate", "length", "alphabet", "require", "command", "timeout")
	p.noBlocks(b.Body, "generate")
	if attrs["command"] != nil {
		for _, k := range []string{"length", "alphabet", "require"} {
			if attrs[k] != nil {
				p.Addf(attrs[k].SrcRange.Start, "secret %q: generate takes either command or length/alphabet/require", r.Path)
			}
		}
		h := &Hook{Timeout: pol.Defaults.HookTimeout}
		h.Command, _ = p.strList(attrs["command"])
		if len(h.Command) == 0 {
			p.Addf(attrs["command"].SrcRange.Start, "secret %q: generate command is empty", r.Path)
		}
		if d, ok := p.duration(attrs["timeout"]); ok {
			h.Timeout = d
		}
		r.Generate = Generator{Command: h}
		return
	}
	if n, ok := p.integer(attrs["length"], 8, 4096); ok {
		r.Generate.Length = n
	}
	if s, ok := p.str(attrs["alphabet"]); ok {
		if named, isNamed := alphabets[s]; isNamed {
			s = named
		}
		if len(uniqueBytes(s)) < 2 {
			p.Addf(attrs["alphabet"].SrcRange.Start, "secret %q: alphabet needs at least 2 distinct characters", r.Path)
		}
		r.Generate.Alphabet = s
	}
	if attrs["require"] != nil {
		req, _ := p.strList(attrs["require"])
		r.Generate.Require = req
	}
	for _, c := range r.Generate.Require {
		set, ok := classSets[c]
		if !ok {
			p.Addf(attrs["require"].SrcRange.Start, "secret %q: unknown character class %q: want lower, upper, digit or symbol", r.Path, c)
			continue
		}
		if !strings.ContainsAny(r.Generate.Alphabet, set) {
			p.Addf(b.TypeRange.Start, "secret %q: alphabet has no %s character, yet require names it", r.Path, c)
		}
	}
	if len(r.Generate.Require) > r.Generate.Length {
		p.Addf(b.TypeRange.Start, "secret %q: length is shorter than the number of required classes", r.Path)
	}
}

func uniqueBytes(s string) map[byte]bool {
	m := map[byte]bool{}
	for i := 0; i < len(s); i++ {
		m[s[i]] = true
	}
	return m
}

func (p *parser) hook(b *hclsyntax.Block, owner string, timeout time.Duration) *Hook {
	attrs := p.attrs(b.Body, b.Type, "command", "timeout")
	p.noBlocks(b.Body, b.Type)
	h := &Hook{Timeout: timeout}
	if attrs["command"] == nil {
		p.Addf(b.TypeRange.Start, "%q: %s hook has no command", owner, b.Type)
		return h
	}
	h.Command, _ = p.strList(attrs["command"])
	if len(h.Command) == 0 {
		p.Addf(attrs["command"].SrcRange.Start, "%q: %s hook command is empty", owner, b.Type)
	}
	if d, ok := p.duration(attrs["timeout"]); ok {
		h.Timeout = d
	}
	return h
}

func (p *parser) window(b *hclsyntax.Block, owner string) *Window {
	attrs := p.attrs(b.Body, "window", "weekdays", "hours")
	p.noBlocks(b.Body, "window")
	w := &Window{To: 24 * 60}
	for i := range w.Weekdays {
		w.Weekdays[i] = true
	}
	if a := attrs["weekdays"]; a != nil {
		days, _ := p.strList(a)
		w.Weekdays = [7]bool{}
		for _, d := range days {
			wd, err := parseWeekdays(d)
			if err != nil {
				p.Addf(a.SrcRange.Start, "%q: window: %v", owner, err)
				continue
			}
			for i, on := range wd {
				w.Weekdays[i] = w.Weekdays[i] || on
			}
		}
	}
	if s, ok := p.str(attrs["hours"]); ok {
		from, to, err := parseHours(s)
		if err != nil {
			p.Addf(attrs["hours"].Expr.Range().Start, "%q: window: %v", owner, err)
		}
		w.From, w.To = from, to
	}
	return w
}

func (p *parser) database(b *hclsyntax.Block, pol *Policy) *Database {
	pos := b.TypeRange.Start
	d := &Database{Name: b.Labels[0], Mount: "database", Strategy: "static", Pos: pos, File: p.File}
	attrs := p.attrs(b.Body, "database", "mount", "db_name", "strategy", "username", "usernames", "period", "schedule", "path", "switch_every")
	if s, ok := p.str(attrs["mount"]); ok {
		d.Mount = strings.Trim(s, "/")
	}
	if s, ok := p.str(attrs["db_name"]); ok {
		d.DBName = s
	} else {
		p.Addf(pos, "database %q: no db_name (the connection, database/config/<db_name>)", d.Name)
	}
	if s, ok := p.str(attrs["strategy"]); ok {
		if s != "static" && s != "alternate" {
			p.Addf(attrs["strategy"].Expr.Range().Start, "database %q: strategy %q: want static or alternate", d.Name, s)
		}
		d.Strategy = s
	}
	if s, ok := p.str(attrs["username"]); ok {
		d.Usernames = []string{s}
	}
	if attrs["usernames"] != nil {
		d.Usernames, _ = p.strList(attrs["usernames"])
	}
	want := 1
	if d.Strategy == "alternate" {
		want = 2
	}
	if len(d.Usernames) != want {
		p.Addf(pos, "database %q: strategy %s needs %d username(s) (username = \"…\" or usernames = [\"…\", \"…\"])", d.Name, d.Strategy, want)
	}
	if dur, ok := p.duration(attrs["period"]); ok {
		d.Period = dur
	}
	if s, ok := p.str(attrs["schedule"]); ok {
		if len(strings.Fields(s)) != 5 {
			p.Addf(attrs["schedule"].Expr.Range().Start, "database %q: schedule %q: want a 5-field cron expression, as Vault's rotation_schedule", d.Name, s)
		}
		d.CronSched = s
	}
	if d.Period > 0 && d.CronSched != "" {
		p.Addf(pos, "database %q: give period or schedule, not both", d.Name)
	}
	if d.Period == 0 && d.CronSched == "" {
		d.Period = pol.Classes["database"].Every
		if d.Period == 0 {
			d.Period = 90 * 24 * time.Hour
		}
	}
	if s, ok := p.str(attrs["path"]); ok {
		d.Path = strings.Trim(s, "/")
	}
	d.Schedule = pol.Classes["database"]
	if s, ok := p.schedule(attrs["switch_every"]); ok {
		d.Schedule = s
	}
	if d.Strategy == "alternate" && d.Path == "" {
		p.Addf(pos, "database %q: strategy alternate needs path, the KV secret readers use", d.Name)
	}
	for _, nb := range b.Body.Blocks {
		if nb.Type != "test" {
			p.Addf(nb.TypeRange.Start, "database %q: unknown block %q: want test", d.Name, nb.Type)
			continue
		}
		d.Test = p.hook(nb, d.Name, pol.Defaults.HookTimeout)
	}
	return d
}

// attrs returns the block's attributes by name and reports unknown ones.
func (p *parser) attrs(body *hclsyntax.Body, what string, known ...string) map[string]*hclsyntax.Attribute {
	out := map[string]*hclsyntax.Attribute{}
	for _, a := range hcldiag.SortedAttrs(body.Attributes) {
		ok := false
		for _, k := range known {
			ok = ok || k == a.Name
		}
		if !ok {
			p.Addf(a.SrcRange.Start, "%s: unknown argument %q (want %s)", what, a.Name, strings.Join(known, ", "))
			continue
		}
		out[a.Name] = a
	}
	return out
}

func (p *parser) noBlocks(body *hclsyntax.Body, what string) {
	for _, b := range body.Blocks {
		p.Addf(b.TypeRange.Start, "%s: unknown block %q", what, b.Type)
	}
}

func (p *parser) value(a *hclsyntax.Attribute) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		p.Addf(a.Expr.Range().Start, "%s: want a constant value", a.Name)
		return cty.NilVal, false
	}
	if v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

func (p *parser) str(a *hclsyntax.Attribute) (string, bool) {
	v, ok := p.value(a)
	if !ok {
		return "", false
	}
	if v.Type() != cty.String {
		p.Addf(a.Expr.Range().Start, "%s: want a string", a.Name)
		return "", false
	}
	return v.AsString(), true
}

func (p *parser) integer(a *hclsyntax.Attribute, lo, hi int) (int, bool) {
	v, ok := p.value(a)
	if !ok {
		return 0, false
	}
	if v.Type() != cty.Number {
		p.Addf(a.Expr.Range().Start, "%s: want a number", a.Name)
		return 0, false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < int64(lo) || n > int64(hi) {
		p.Addf(a.Expr.Range().Start, "%s: want a whole number from %d to %d", a.Name, lo, hi)
		return 0, false
	}
	return int(n), true
}

func (p *parser) strList(a *hclsyntax.Attribute) ([]string, bool) {
	v, ok := p.value(a)
	if !ok {
		return nil, false
	}
	if !(v.Type().IsTupleType() || v.Type().IsListType()) {
		p.Addf(a.Expr.Range().Start, "%s: want a list of strings", a.Name)
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() || ev.Type() != cty.String {
			p.Addf(a.Expr.Range().Start, "%s: want a list of strings", a.Name)
			return nil, false
		}
		out = append(out, ev.AsString())
	}
	return out, true
}

func (p *parser) duration(a *hclsyntax.Attribute) (time.Duration, bool) {
	s, ok := p.str(a)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.Addf(a.Expr.Range().Start, "%s: %v", a.Name, err)
		return 0, false
	}
	return d, true
}

func (p *parser) schedule(a *hclsyntax.Attribute) (Schedule, bool) {
	s, ok := p.str(a)
	if !ok {
		return Schedule{}, false
	}
	sc, err := ParseSchedule(s)
	if err != nil {
		p.Addf(a.Expr.Range().Start, "%s: %v", a.Name, err)
		return Schedule{}, false
	}
	return sc, true
}
