package scan

import (
	"fmt"
	"regexp"
	"strings"
)

// The implementation of FindEnvRefs and FindHelperRefs before literal
// prefiltering, kept as the reference the differential tests compare
// against: each pattern (as written then) runs over the whole text.
// YAML, systemd and shell files read line by line are not affected and
// go to FindEnvRefs itself.

var (
	refPyPatterns = []*regexp.Regexp{
		regexp.MustCompile(`\benviron\s*\[\s*(?:'(` + envName + `)'|"(` + envName + `)")\s*\]`),
		regexp.MustCompile(`\benviron\s*\.\s*(?:get|pop|setdefault)\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`),
		regexp.MustCompile(`\bgetenv[b]?\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`),
	}
	refDagsterPatterns = []*regexp.Regexp{
		regexp.MustCompile(`\bEnvVar(?:\s*\.\s*(?:int|float|bool|str))?\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`),
		regexp.MustCompile(`(?:'env'|"env")\s*:\s*(?:'(` + envName + `)'|"(` + envName + `)")`),
	}
	refJSPatterns = []*regexp.Regexp{
		regexp.MustCompile(`\bprocess\s*\.\s*env\s*(?:\.\s*(` + envName + `)\b|\[\s*(?:'(` + envName + `)'|"(` + envName + `)"|` + "`(" + envName + ")`" + `)\s*\])`),
		regexp.MustCompile(`\bimport\s*\.\s*meta\s*\.\s*env\s*(?:\.\s*(` + envName + `)\b|\[\s*(?:'(` + envName + `)'|"(` + envName + `)")\s*\])`),
		regexp.MustCompile(`\bDeno\s*\.\s*env\s*\.\s*get\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`),
	}
	refDbtEnvVar = regexp.MustCompile(`\benv_var\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`)
)

func refHelperPattern(names []string) (*regexp.Regexp, error) {
	var alts []string
	for _, n := range names {
		if !helperName.MatchString(n) {
			return nil, fmt.Errorf("env helper %q is not a function name (letters, digits, _, $, dots)", n)
		}
		alts = append(alts, regexp.QuoteMeta(n))
	}
	return regexp.Compile(`(?:^|[^A-Za-z0-9_$.])(?:` + strings.Join(alts, "|") + `)\s*\(\s*(?:'(` + envName + `)'|"(` + envName + `)")`)
}

func refFindHelperRefs(re *regexp.Regexp, src []byte) []EnvRef {
	lines := splitLines(src)
	return refAppendTextMatches(nil, re, RuleHelper, strings.Join(lines, "\n"), lines)
}

func refFindEnvRefs(kind string, src []byte) []EnvRef {
	var refs []EnvRef
	lines := splitLines(src)
	text := strings.Join(lines, "\n")
	switch kind {
	case "python":
		for _, re := range refPyPatterns {
			refs = refAppendTextMatches(refs, re, RulePython, text, lines)
		}
		for _, re := range refDagsterPatterns {
			refs = refAppendTextMatches(refs, re, RuleDagster, text, lines)
		}
	case "javascript":
		for _, re := range refJSPatterns {
			refs = refAppendTextMatches(refs, re, RuleJavaScript, text, lines)
		}
	case "sql":
		refs = refAppendTextMatches(refs, refDbtEnvVar, RuleDbt, text, lines)
	default:
		return FindEnvRefs(kind, src)
	}
	sortRefs(refs)
	return refs
}

func refAppendTextMatches(refs []EnvRef, re *regexp.Regexp, rule, text string, lines []string) []EnvRef {
	for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] < 0 {
				continue
			}
			line := strings.Count(text[:m[g]], "\n")
			lineStart := strings.LastIndexByte(text[:m[g]], '\n') + 1
			if !allowed(lines[line]) {
				refs = append(refs, EnvRef{Rule: rule, Line: line + 1, Column: col(text[lineStart:], m[g]-lineStart), Name: text[m[g]:m[g+1]]})
			}
			break
		}
	}
	return refs
}
