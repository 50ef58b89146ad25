package scan

import (
	"bytes"
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// EnvRef is a place where code or configuration reads or sets an
// environment variable (or names a file of them).
type EnvRef struct {
	Rule         string
	Line, Column int // 1-based; Column in code points, at the name
	Name         string
	// Value is a literal value assigned in the same place (compose,
	// systemd, shell), "" when the variable is only read.
	Value    string
	HasValue bool
	// File is true when Name is a path to an env file, not a variable.
	File bool
}

// Env-ref rules, one per kind of reader.
const (
	RulePython      = "env-ref-python"
	RuleDagster     = "env-ref-dagster"
	RuleCompose     = "env-ref-compose"
	RuleComposeFile = "env-ref-compose-env-file"
	RuleYAML        = "env-ref-yaml"
	RuleSystemd     = "env-ref-systemd"
	RuleSystemdFile = "env-ref-systemd-env-file"
	RuleShell       = "env-ref-shell"
	RuleJavaScript  = "env-ref-javascript"
	RuleDbt         = "env-ref-dbt"
	RuleHelper      = "env-ref-helper"
)

var envRefDescriptions = map[string]string{
	RulePython:      "Python reads an environment variable (os.environ, os.getenv)",
	RuleDagster:     "Dagster reads an environment variable (EnvVar, {\"env\": …})",
	RuleCompose:     "a Compose/YAML environment entry sets or passes a variable",
	RuleComposeFile: "a Compose env_file loads variables from a file",
	RuleYAML:        "YAML configuration reads an environment variable (${VAR}, env: VAR)",
	RuleSystemd:     "a systemd unit sets a variable with Environment=",
	RuleSystemdFile: "a systemd unit loads variables from EnvironmentFile=",
	RuleShell:       "a shell script exports a variable",
	RuleJavaScript:  "JavaScript/TypeScript reads an environment variable (process.env, import.meta.env)",
	RuleDbt:         "dbt reads an environment variable ({{ env_var('…') }})",
	RuleHelper:      "the project's own helper reads an environment variable",
}

const envName = `[A-Za-z_][A-Za-z0-9_]*`

var (
	pyPatterns = []*textPattern{
		wordPattern("environ", `\s*\[\s*(?:'(`+envName+`)'|"(`+envName+`)")\s*\]`),
		wordPattern("environ", `\s*\.\s*(?:get|pop|setdefault)\s*\(\s*(?:'(`+envName+`)'|"(`+envName+`)")`),
		wordPattern("getenv", `[b]?\s*\(\s*(?:'(`+envName+`)'|"(`+envName+`)")`),
	}
	dagsterPatterns = []*textPattern{
		wordPattern("EnvVar", `(?:\s*\.\s*(?:int|float|bool|str))?\s*\(\s*(?:'(`+envName+`)'|"(`+envName+`)")`),
		quotedPattern([]string{`'env'`, `"env"`}, `\s*:\s*(?:'(`+envName+`)'|"(`+envName+`)")`),
	}
	jsPatterns = []*textPattern{
		wordPattern("process", `\s*\.\s*env\s*(?:\.\s*(`+envName+`)\b|\[\s*(?:'(`+envName+`)'|"(`+envName+`)"|`+"`("+envName+")`"+`)\s*\])`),
		wordPattern("import", `\s*\.\s*meta\s*\.\s*env\s*(?:\.\s*(`+envName+`)\b|\[\s*(?:'(`+envName+`)'|"(`+envName+`)")\s*\])`),
		wordPattern("Deno", `\s*\.\s*env\s*\.\s*get\s*\(\s*(?:'(`+envName+`)'|"(`+envName+`)")`),
	}
	// dbtPattern is dbt's {{ env_var('…') }}, in SQL files and YAML lines
	dbtPattern     = wordPattern("env_var", `\s*\(\s*(?:'(`+envName+`)'|"(`+envName+`)")`)
	envNameRe      = regexp.MustCompile(`^` + envName + `$`)
	yamlEnvInline  = regexp.MustCompile(`\{\s*env\s*:\s*['"]?(` + envName + `)['"]?\s*\}`)
	yamlEnvScalar  = regexp.MustCompile(`^\s*(?:-\s+)?env\s*:\s*['"]?(` + envName + `)['"]?\s*(?:#.*)?$`)
	yamlInterp     = regexp.MustCompile(`\$\{(` + envName + `)(?:(:?[-=])([^}]*)|[:?+][^}]*)?\}`)
	yamlBlockKey   = regexp.MustCompile(`^(\s*)(?:-\s+)?(environment|env|env_file)\s*:\s*(.*?)\s*$`)
	yamlListItem   = regexp.MustCompile(`^(\s*)-\s+(.*?)\s*$`)
	yamlMapItem    = regexp.MustCompile(`^(\s*)(['"]?)(` + envName + `)(['"]?)\s*:(?:\s+(.*?))?\s*$`)
	shellExport    = regexp.MustCompile(`^\s*(?:export|declare\s+-x|typeset\s+-x)\s+(` + envName + `)(=?)`)
	systemdEnv     = regexp.MustCompile(`^\s*Environment\s*=\s*(.*)$`)
	systemdEnvFile = regexp.MustCompile(`^\s*EnvironmentFile\s*=\s*-?\s*(\S.*?)\s*$`)
)

// EnvRefKind returns which detector applies to a file name, or "".
func EnvRefKind(name string) string {
	base := path.Base(name)
	ext := path.Ext(base)
	switch ext {
	case ".py", ".pyi":
		return "python"
	case ".yaml", ".yml":
		return "yaml"
	case ".service", ".socket", ".timer", ".path", ".mount":
		return "systemd"
	case ".sh", ".bash", ".zsh", ".ksh":
		return "shell"
	case ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte", ".astro":
		return "javascript"
	case ".sql":
		return "sql"
	case ".conf":
		if strings.Contains(name, ".service.d/") || strings.Contains(name, ".socket.d/") || strings.Contains(name, ".timer.d/") {
			return "systemd"
		}
	}
	switch base {
	case ".envrc", ".bashrc", ".bash_profile", ".profile", ".zshrc", ".zshenv", ".zprofile":
		return "shell"
	}
	return ""
}

var helperName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

// An EnvHelper finds calls of a project's own env-reading helpers (see
// HelperPattern).
type EnvHelper struct{ p *textPattern }

// HelperPattern matches calls of a project's own env-reading helpers, by
// name (env, settings.env, getConfig): NAME("VAR") or NAME('VAR'), the
// call possibly spanning lines.
func HelperPattern(names []string) (*EnvHelper, error) {
	var alts []string
	for _, n := range names {
		if !helperName.MatchString(n) {
			return nil, fmt.Errorf("env helper %q is not a function name (letters, digits, _, $, dots)", n)
		}
		alts = append(alts, regexp.QuoteMeta(n))
	}
	// A match is a name at the start of the text or after a character
	// that cannot be in a name.
	re, err := regexp.Compile(`^(?:^|[^A-Za-z0-9_$.])(?:` + strings.Join(alts, "|") + `)\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`)
	if err != nil {
		return nil, err
	}
	return &EnvHelper{&textPattern{anchored: re, lits: names, off: 1, startOK: func(text string, s int) bool {
		// Tried one byte before a name, at s > 0, a match must take the
		// byte at s as [^A-Za-z0-9_$.] (or as a byte of a non-ASCII
		// character, which the class matches): the ^ cannot hold there.
		// In text[s:] it holds, but then a name would have to start at
		// s, which no name can with such a byte.
		return s == 0 || !isHelperNameByte(text[s])
	}}}, nil
}

func isHelperNameByte(c byte) bool { return isWordByte(c) || c == '$' || c == '.' }

// FindHelperRefs reports calls matched by a HelperPattern in src.
func FindHelperRefs(h *EnvHelper, src []byte) []EnvRef {
	lines := splitLines(src)
	return appendTextMatches(nil, h.p, RuleHelper, strings.Join(lines, "\n"), lines)
}

// A textPattern is a regular expression matched over a file's whole text
// (a call may span lines), tried only where a match can start: by its
// construction, every match has one of lits off bytes after its start
// (or, with off 1, at the text's start).
type textPattern struct {
	anchored *regexp.Regexp // the expression, anchored: ^(?:…)
	lits     []string
	off      int
	// startOK, if not nil, is the condition on the text before s for a
	// match to start at s, which anchored cannot see in text[s:].
	startOK func(text string, s int) bool
}

// wordPattern is the expression \b lit (?:rest): matches start with lit,
// where the byte before (if any) is not a word character, lit starting
// with one.
func wordPattern(lit, rest string) *textPattern {
	if !isWordByte(lit[0]) {
		panic("wordPattern: " + lit + " does not start with a word character")
	}
	return &textPattern{
		anchored: regexp.MustCompile(`^\b` + regexp.QuoteMeta(lit) + `(?:` + rest + `)`),
		lits:     []string{lit},
		startOK:  func(text string, s int) bool { return s == 0 || !isWordByte(text[s-1]) },
	}
}

// quotedPattern is the expression (?:lit|…) (?:rest): matches start with
// one of lits, whatever is before.
func quotedPattern(lits []string, rest string) *textPattern {
	var alts []string
	for _, l := range lits {
		alts = append(alts, regexp.QuoteMeta(l))
	}
	return &textPattern{anchored: regexp.MustCompile(`^(?:` + strings.Join(alts, "|") + `)(?:` + rest + `)`), lits: lits}
}

// isWordByte reports whether c is an ASCII word character, as \b reads
// it; the bytes of a non-ASCII character are not, nor is that character.
func isWordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// each calls f with the submatch indexes of each match in text, as
// FindAllStringSubmatchIndex with the unanchored expression finds them
// (the leftmost match, then the leftmost from its end, …), except that a
// match after a non-ASCII character may be said to start inside it.
//
// A match starting at s has a literal at s+off, so trying the anchored
// expression at each literal occurrence q minus off, in increasing order
// and from the end of the last match, finds the leftmost. Tried on
// text[s:] the anchored expression sees what the unanchored one would at
// s, except for the text before s, which startOK checks: with
// non-overlapping matches from the end of the last, the rest of the text
// is the same.
func (p *textPattern) each(text string, f func(m []int)) {
	next := make([]int, len(p.lits)) // the next occurrence of each literal, -1 when none is left
	for i, lit := range p.lits {
		next[i] = strings.Index(text, lit)
	}
	end := 0 // of the last match
	for {
		q := -1
		for _, n := range next {
			if n >= 0 && (q < 0 || n < q) {
				q = n
			}
		}
		if q < 0 {
			return
		}
		if s := max(q-p.off, 0); s >= end && (p.startOK == nil || p.startOK(text, s)) {
			if m := p.anchored.FindStringSubmatchIndex(text[s:]); m != nil {
				for i := range m {
					if m[i] >= 0 {
						m[i] += s
					}
				}
				f(m)
				end = m[1]
			}
		}
		from := max(q+1, end)
		for i, n := range next {
			if n >= 0 && n < from {
				if j := strings.Index(text[from:], p.lits[i]); j >= 0 {
					next[i] = from + j
				} else {
					next[i] = -1
				}
			}
		}
	}
}

// FindEnvRefs reports the environment variable references in src, read as
// the given kind (see EnvRefKind). Lines with a gitleaks:allow or
// env-scan:allow comment are skipped.
func FindEnvRefs(kind string, src []byte) []EnvRef {
	var refs []EnvRef
	lines := splitLines(src)
	switch kind {
	case "python":
		// whole-text matching: a call may span lines (os.getenv(\n "X"))
		text := strings.Join(lines, "\n")
		for _, re := range pyPatterns {
			refs = appendTextMatches(refs, re, RulePython, text, lines)
		}
		for _, re := range dagsterPatterns {
			refs = appendTextMatches(refs, re, RuleDagster, text, lines)
		}
		sortRefs(refs)
	case "javascript":
		text := strings.Join(lines, "\n")
		for _, re := range jsPatterns {
			refs = appendTextMatches(refs, re, RuleJavaScript, text, lines)
		}
		sortRefs(refs)
	case "sql":
		refs = appendTextMatches(refs, dbtPattern, RuleDbt, strings.Join(lines, "\n"), lines)
		sortRefs(refs)
	case "yaml":
		refs = yamlRefs(lines)
	case "systemd":
		for i, l := range lines {
			if allowed(l) || strings.HasPrefix(strings.TrimSpace(l), "#") || strings.HasPrefix(strings.TrimSpace(l), ";") {
				continue
			}
			if m := systemdEnvFile.FindStringSubmatchIndex(l); m != nil {
				refs = append(refs, EnvRef{Rule: RuleSystemdFile, Line: i + 1, Column: col(l, m[2]), Name: l[m[2]:m[3]], File: true})
				continue
			}
			if m := systemdEnv.FindStringSubmatchIndex(l); m != nil {
				for _, a := range systemdAssignments(l, m[2]) {
					a.Rule, a.Line = RuleSystemd, i+1
					refs = append(refs, a)
				}
			}
		}
	case "shell":
		for i, l := range lines {
			if allowed(l) {
				continue
			}
			if m := shellExport.FindStringSubmatchIndex(l); m != nil {
				r := EnvRef{Rule: RuleShell, Line: i + 1, Column: col(l, m[2]), Name: l[m[2]:m[3]]}
				if m[5] > m[4] {
					r.Value, r.HasValue = shellValue(l[m[5]:]), true
				}
				refs = append(refs, r)
			}
		}
	}
	return refs
}

func splitLines(src []byte) []string {
	s := string(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

func allowed(line string) bool {
	return strings.Contains(line, "gitleaks:allow") || strings.Contains(line, "env-scan:allow")
}

// col converts a byte offset in line to a 1-based code point column.
func col(line string, off int) int { return utf8.RuneCountInString(line[:off]) + 1 }

// appendTextMatches adds the first matching group of every match of p in
// text (lines joined by "\n"), located by line and column; matches on a
// line with an allow comment are skipped.
func appendTextMatches(refs []EnvRef, p *textPattern, rule, text string, lines []string) []EnvRef {
	line, lineStart := 0, 0 // the line (0-based) starting at lineStart, where the last match is
	p.each(text, func(m []int) {
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] < 0 {
				continue
			}
			before := text[lineStart:m[g]]
			if i := strings.LastIndexByte(before, '\n'); i >= 0 {
				line += strings.Count(before, "\n")
				lineStart += i + 1
			}
			if !allowed(lines[line]) {
				refs = append(refs, EnvRef{Rule: rule, Line: line + 1, Column: col(text[lineStart:], m[g]-lineStart), Name: text[m[g]:m[g+1]]})
			}
			break
		}
	})
	return refs
}

func sortRefs(refs []EnvRef) {
	slices.SortStableFunc(refs, func(a, b EnvRef) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column)) })
}

// appendMatches appends the references p finds in one line.
func appendMatches(refs []EnvRef, p *textPattern, rule string, lineNo int, l string) []EnvRef {
	p.each(l, func(m []int) {
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] >= 0 {
				refs = append(refs, EnvRef{Rule: rule, Line: lineNo, Column: col(l, m[g]), Name: l[m[g]:m[g+1]]})
				break
			}
		}
	})
	return refs
}

// yamlRefs follows environment:/env:/env_file: blocks by indentation and
// picks ${VAR} interpolations and Dagster's {env: VAR} anywhere.
func yamlRefs(lines []string) []EnvRef {
	var refs []EnvRef
	block, blockIndent := "", -1
	for i, l := range lines {
		lineNo := i + 1
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if allowed(l) {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " \t"))
		if block != "" && indent <= blockIndent && !(indent == blockIndent && strings.HasPrefix(trimmed, "- ") && block != "env") {
			block = ""
		}
		if block != "" {
			if r, ok := yamlBlockEntry(block, l, lineNo); ok {
				refs = append(refs, r)
			}
			continue
		}
		if m := yamlBlockKey.FindStringSubmatchIndex(l); m != nil {
			key, rest := l[m[4]:m[5]], l[m[6]:m[7]]
			rest = strings.TrimSpace(stripYAMLComment(rest))
			if strings.HasPrefix(rest, "&") {
				// environment: &anchor — the block follows
				_, rest, _ = strings.Cut(rest, " ")
				rest = strings.TrimSpace(rest)
			}
			switch {
			case key == "environment" && strings.HasPrefix(rest, "{") && strings.HasSuffix(rest, "}"):
				// a flow map: environment: {K: v, K2: v2}
				body := rest[1 : len(rest)-1]
				off := strings.Index(l, rest) + 1
				for _, part := range strings.Split(body, ",") {
					k, v, ok := strings.Cut(part, ":")
					name := unquoteYAML(k)
					if envNameRe.MatchString(name) {
						r := EnvRef{Rule: RuleCompose, Line: lineNo, Column: col(l, off+strings.Index(part, name)), Name: name}
						if v = unquoteYAML(v); ok && v != "" && v != "~" && v != "null" {
							r.Value, r.HasValue = v, true
						}
						refs = append(refs, r)
					}
					off += len(part) + 1
				}
				continue
			case rest == "" || rest == "|" || rest == ">":
				block, blockIndent = key, indent
				if strings.HasPrefix(trimmed, "- ") {
					blockIndent = indent + 2
				}
				continue
			case key == "env_file":
				for _, f := range yamlFlowList(rest) {
					refs = append(refs, EnvRef{Rule: RuleComposeFile, Line: lineNo, Column: col(l, strings.Index(l, f)), Name: f, File: true})
				}
				continue
			case key == "env":
				if m := yamlEnvScalar.FindStringSubmatchIndex(l); m != nil {
					refs = append(refs, EnvRef{Rule: RuleDagster, Line: lineNo, Column: col(l, m[2]), Name: l[m[2]:m[3]]})
					continue
				}
			}
		}
		for _, m := range yamlEnvInline.FindAllStringSubmatchIndex(l, -1) {
			refs = append(refs, EnvRef{Rule: RuleDagster, Line: lineNo, Column: col(l, m[2]), Name: l[m[2]:m[3]]})
		}
		for _, m := range yamlInterp.FindAllStringSubmatchIndex(l, -1) {
			r := EnvRef{Rule: RuleYAML, Line: lineNo, Column: col(l, m[2]), Name: l[m[2]:m[3]]}
			if m[6] >= 0 && m[7] > m[6] {
				// ${X:-default}: the default is a value written here
				r.Value, r.HasValue = unquoteYAML(l[m[6]:m[7]]), true
			}
			refs = append(refs, r)
		}
		refs = appendMatches(refs, dbtPattern, RuleDbt, lineNo, l)
	}
	return refs
}

func yamlBlockEntry(block, l string, lineNo int) (EnvRef, bool) {
	if block == "env_file" {
		if m := yamlListItem.FindStringSubmatchIndex(l); m != nil {
			f := unquoteYAML(stripYAMLComment(l[m[4]:m[5]]))
			if strings.HasPrefix(f, "path:") {
				f = unquoteYAML(strings.TrimSpace(strings.TrimPrefix(f, "path:")))
			}
			if f != "" {
				return EnvRef{Rule: RuleComposeFile, Line: lineNo, Column: col(l, max(strings.Index(l, f), 0)), Name: f, File: true}, true
			}
		}
		return EnvRef{}, false
	}
	if m := yamlListItem.FindStringSubmatchIndex(l); m != nil {
		item := l[m[4]:m[5]]
		q := ""
		if len(item) > 0 && (item[0] == '"' || item[0] == '\'') {
			q = item[:1]
		}
		body := strings.TrimPrefix(item, q)
		name, val, hasVal := strings.Cut(body, "=")
		if q != "" {
			val = strings.TrimSuffix(val, q)
			if !hasVal {
				name = strings.TrimSuffix(name, q)
			}
		} else {
			val = stripYAMLComment(val)
		}
		if !envNameRe.MatchString(name) {
			return EnvRef{}, false
		}
		return EnvRef{Rule: RuleCompose, Line: lineNo, Column: col(l, m[4]+len(q)), Name: name, Value: val, HasValue: hasVal}, true
	}
	if m := yamlMapItem.FindStringSubmatchIndex(l); m != nil {
		r := EnvRef{Rule: RuleCompose, Line: lineNo, Column: col(l, m[6]), Name: l[m[6]:m[7]]}
		if m[10] >= 0 {
			v := unquoteYAML(stripYAMLComment(l[m[10]:m[11]]))
			if v != "" && v != "~" && v != "null" {
				r.Value, r.HasValue = v, true
			}
		}
		return r, true
	}
	return EnvRef{}, false
}

func stripYAMLComment(s string) string {
	if strings.HasPrefix(s, "#") {
		return ""
	}
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		if end := strings.IndexByte(s[1:], s[0]); end >= 0 {
			return s[:end+2]
		}
		return s
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func unquoteYAML(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func yamlFlowList(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		var out []string
		for _, p := range strings.Split(s[1:len(s)-1], ",") {
			if p = unquoteYAML(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	if s = unquoteYAML(s); s != "" {
		return []string{s}
	}
	return nil
}

// systemdAssignments splits Environment= arguments: blank-separated
// NAME=value words, each optionally in double or single quotes.
func systemdAssignments(l string, off int) []EnvRef {
	var out []EnvRef
	i := off
	for i < len(l) {
		for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
			i++
		}
		if i >= len(l) {
			break
		}
		q := byte(0)
		if l[i] == '"' || l[i] == '\'' {
			q = l[i]
			i++
		}
		wordStart := i
		var word strings.Builder
		for i < len(l) {
			c := l[i]
			if q != 0 && c == q {
				i++
				break
			}
			if q == 0 && (c == ' ' || c == '\t') {
				break
			}
			if c == '\\' && i+1 < len(l) {
				i++
				c = l[i]
			}
			word.WriteByte(c)
			i++
		}
		name, val, ok := strings.Cut(word.String(), "=")
		if ok && envNameRe.MatchString(name) {
			out = append(out, EnvRef{Column: col(l, wordStart), Name: name, Value: val, HasValue: true})
		}
	}
	return out
}

func shellValue(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if s[0] == '"' || s[0] == '\'' {
		if end := strings.IndexByte(s[1:], s[0]); end >= 0 {
			return s[1 : end+1]
		}
		return s[1:]
	}
	if i := strings.IndexAny(s, " \t;"); i >= 0 {
		return s[:i]
	}
	return s
}
