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
