package auditlog

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Filter selects audit lines. Every set field must match (AND); the values
// of one field are alternatives (OR). The zero Filter matches every line.
type Filter struct {
	Users      []string  // display_name, entity_id or AppRole role_name, exactly
	Since      time.Time // time >= Since
	Until      time.Time // time < Until
	Ops        []string  // request.operation
	Paths      []string  // globs on request.path: * any run of characters (/ too), ? one character
	Mounts     []string  // request.mount_point, with or without the final /
	Type       string    // request or response
	Errors     bool      // only entries with a non-empty "error"
	Policies   []string  // in auth.policies, token_policies or identity_policies
	RemoteAddr []string  // request.remote_address
	RequestIDs []string  // request.id
	// Contains are literals the raw line must hold, such as the audit HMAC
	// of a value (sys/audit-hash): every one of them.
	Contains []string
}

// Matcher is a compiled Filter. Its methods are safe for concurrent use.
type Matcher struct {
	f      Filter
	mounts []string
	// groups of needles: a matching line holds at least one needle of each
	// group, in its raw bytes (see Reject).
	groups  [][][]byte
	hasTime bool
	all     bool // the filter is empty: every audit line matches
}

// Compile checks f and builds its matcher.
func Compile(f Filter) (*Matcher, error) {
	if f.Type != "" && f.Type != "request" && f.Type != "response" {
		return nil, fmt.Errorf("type %q: want request or response", f.Type)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return nil, fmt.Errorf("--until must be after --since")
	}
	m := &Matcher{f: f, hasTime: !f.Since.IsZero() || !f.Until.IsZero()}
	for _, mt := range f.Mounts {
		m.mounts = append(m.mounts, strings.TrimSuffix(mt, "/")+"/")
	}
	quoted := func(vals []string) {
		var g [][]byte
		for _, v := range vals {
			if !plain(v) {
				return // a value JSON may escape: no needle for this group
			}
			g = append(g, []byte(`"`+v+`"`))
		}
		if len(g) > 0 {
			m.groups = append(m.groups, g)
		}
	}
	// Most selective first: Reject stops at the first group a line misses.
	quoted(f.RequestIDs)
	quoted(f.Users)
	// For path globs, each alternative's longest literal piece.
	var pg [][]byte
	for _, g := range f.Paths {
		n := globNeedle(g)
		if n == nil {
			pg = nil
			break
		}
		pg = append(pg, n)
	}
	if len(pg) > 0 {
		m.groups = append(m.groups, pg)
	}
	quoted(f.Policies)
	if f.Errors {
		quoted([]string{"error"})
	}
	quoted(f.Ops)
	// mount_point is logged with its final slash; match the name either way.
	if len(m.mounts) > 0 {
		var g [][]byte
		for _, mt := range m.mounts {
			if !plain(mt) {
				g = nil
				break
			}
			g = append(g, []byte(`"`+strings.TrimSuffix(mt, "/")))
		}
		if len(g) > 0 {
			m.groups = append(m.groups, g)
		}
	}
	quoted(f.RemoteAddr)
	if f.Type != "" {
		quoted([]string{f.Type})
	}
	for _, c := range f.Contains {
		if c == "" || !plain(c) {
			return nil, fmt.Errorf("a searched literal must be printable ASCII without quotes or backslashes")
		}
		m.groups = append([][][]byte{{[]byte(c)}}, m.groups...)
	}
	m.all = len(f.Users)+len(f.Ops)+len(f.Paths)+len(f.Mounts)+len(f.Policies)+len(f.RemoteAddr)+len(f.RequestIDs)+len(f.Contains) == 0 &&
		f.Type == "" && !f.Errors && !m.hasTime
	return m, nil
}

// plain reports whether s is written verbatim inside a JSON string by
// Vault's encoder (Go's encoding/json escapes <, > and &, quotes, backslashes
// and control characters, and non-ASCII is left to chance).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// globNeedle returns the longest literal piece of glob g, with a quote
// before or after it where the piece starts or ends the glob; nil when g
// has no usable literal.
func globNeedle(g string) []byte {
	best := ""
	start := 0
	for i := 0; i <= len(g); i++ {
		if i < len(g) && g[i] != '*' && g[i] != '?' {
			continue
		}
		piece := g[start:i]
		if start == 0 {
			piece = `"` + piece
		}
		if i == len(g) {
			piece += `"`
		}
		if len(piece) > len(best) {
			best = piece
		}
		start = i + 1
	}
	if len(best) < 2 || !plain(strings.Trim(best, `"`)) {
		return nil
	}
	return []byte(best)
}

// skipNeedle returns a literal every matching line holds (when its escapes
// cannot hide it), or nil.
func (m *Matcher) skipNeedle() []byte {
	if len(m.groups) > 0 && len(m.groups[0]) == 1 {
		return m.groups[0][0]
	}
	return nil
}

// MatchesAll reports whether the filter is empty.
func (m *Matcher) MatchesAll() bool { return m.all }

// Reject is the fast path: it reports whether line certainly does not
// match, looking only at its bytes. A line Reject passes may still fail
// Match; a line Match accepts is never rejected.
func (m *Matcher) Reject(line []byte) bool { return m.reject(line, false) }

// reject is Reject; noEsc says the caller knows line has no \u or \/.
func (m *Matcher) reject(line []byte, noEsc bool) bool {
	for _, g := range m.groups {
		found := false
		for _, n := range g {
			if bytes.Contains(line, n) {
				found = true
				break
			}
		}
		if !found {
			return noEsc || !mayHideLiteral(line)
		}
	}
	if m.f.Type == "" && !m.hasTime {
		return false
	}
	typ, ts, ok := fastTail(line)
	if m.f.Type != "" && ok && string(typ) != m.f.Type {
		return true
	}
	if m.hasTime {
		var t time.Time
		if ts != nil {
			t, ok = parseTime(ts)
		} else {
			t, ok = fastTime(line, noEsc)
		}
		if ok && !m.timeOK(t) {
			return true
		}
	}
	return false
}

func parseTime(b []byte) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// mayHideLiteral reports whether line has an escape (\uXXXX, \/) that can
// spell a plain character another way, so a missing literal proves nothing.
func mayHideLiteral(line []byte) bool {
	for {
		i := bytes.IndexByte(line, '\\')
		if i < 0 || i+1 >= len(line) {
			return false
		}
		switch line[i+1] {
		case 'u', '/':
			return true
		}
		line = line[i+2:]
	}
}

// fastTail reads the top-level "type", and "time" when it comes just before
// it, from the end of the line without parsing: Vault sorts its keys, so a
// line ends in ,"time":"<time>","type":"<type>"}. In valid JSON that final
// brace closes the top-level object, so both members are top-level ones
// (Parse refuses duplicates). Values with escapes are left to the parse.
func fastTail(line []byte) (typ, ts []byte, ok bool) {
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t' || line[len(line)-1] == '\r' || line[len(line)-1] == '\n') {
		line = line[:len(line)-1]
	}
	if !bytes.HasSuffix(line, []byte(`}`)) {
		return nil, nil, false
	}
	typ, head, ok := lastMember(line[:len(line)-1], `"type":`)
	if !ok {
		return nil, nil, false
	}
	if len(head) > 0 && head[len(head)-1] == ',' {
		if t, _, ok := lastMember(head[:len(head)-1], `"time":`); ok {
			ts = t
		}
	}
	return typ, ts, true
}

// lastMember reads b's last member as key":"value" (key given with its
// quotes and colon), the value without escapes and the key preceded by
// { or ,; it returns the value and what comes before the key.
func lastMember(b []byte, key string) (val, head []byte, ok bool) {
	if !bytes.HasSuffix(b, []byte(`"`)) {
		return nil, nil, false
	}
	b = b[:len(b)-1]
	q := bytes.LastIndexByte(b, '"')
	if q < 0 || bytes.IndexByte(b[q+1:], '\\') >= 0 {
		return nil, nil, false
	}
	val, head = b[q+1:], b[:q]
	if !bytes.HasSuffix(head, []byte(key)) {
		return nil, nil, false
	}
	head = head[:len(head)-len(key)]
	if len(head) == 0 || head[len(head)-1] != ',' && head[len(head)-1] != '{' {
		return nil, nil, false
	}
	return val, head, true
}

var timeKey = []byte(`"time"`)

// fastTime finds the top-level "time" without parsing: only when "time"
// occurs exactly once as a quoted string (then it is the key, which every
// audit entry has) directly followed by :"<value without escapes>".
func fastTime(line []byte, noEsc bool) (time.Time, bool) {
	i := bytes.Index(line, timeKey)
	if i < 0 || bytes.Contains(line[i+len(timeKey):], timeKey) || !noEsc && mayHideLiteral(line) {
		return time.Time{}, false
	}
	rest := line[i+len(timeKey):]
	if len(rest) < 2 || rest[0] != ':' || rest[1] != '"' {
		return time.Time{}, false
	}
	rest = rest[2:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}

func (m *Matcher) timeOK(t time.Time) bool {
	if !m.f.Since.IsZero() && t.Before(m.f.Since) {
		return false
	}
	if !m.f.Until.IsZero() && !t.Before(m.f.Until) {
		return false
	}
	return true
}

// Match reports whether the parsed entry e, from raw line, matches.
func (m *Matcher) Match(e *Entry, line []byte) bool {
	f := &m.f
	if f.Type != "" && e.Type != f.Type {
		return false
	}
	if m.hasTime && !m.timeOK(e.Time) {
		return false
	}
	if f.Errors && e.Error == "" {
		return false
	}
	if len(f.Users) > 0 && !anyEq(f.Users, e.DisplayName) && !anyEq(f.Users, e.EntityID) && !anyEq(f.Users, e.RoleName) {
		return false
	}
	if len(f.Ops) > 0 && !anyEq(f.Ops, e.Operation) {
		return false
	}
	if len(m.mounts) > 0 && !anyEq(m.mounts, strings.TrimSuffix(e.MountPoint, "/")+"/") {
		return false
	}
	if len(f.RemoteAddr) > 0 && !anyEq(f.RemoteAddr, e.RemoteAddress) {
		return false
	}
	if len(f.RequestIDs) > 0 && !anyEq(f.RequestIDs, e.RequestID) {
		return false
	}
	if len(f.Policies) > 0 {
		ok := false
		for _, p := range e.Policies {
			if anyEq(f.Policies, p) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Paths) > 0 {
		ok := false
		for _, g := range f.Paths {
			if Glob(g, e.Path) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, c := range f.Contains {
		if !bytes.Contains(line, []byte(c)) {
			return false
		}
	}
	return true
}

func anyEq(vals []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range vals {
		if v == s {
			return true
		}
	}
	return false
}

// Glob matches s against pattern g: * matches any run of characters
// (including /), ? exactly one byte; everything else is literal.
func Glob(g, s string) bool {
	// Iterative matching with single backtrack point (linear for one *).
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case gi < len(g) && (g[gi] == '?' || g[gi] == s[si]):
			gi++
			si++
		case gi < len(g) && g[gi] == '*':
			star, mark = gi, si
			gi++
		case star >= 0:
			gi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}
