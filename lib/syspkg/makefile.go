package syspkg

import (
	"regexp"
	"strings"
)

var makeAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*[?:+]?=\s*(.*)$`)

// FromMakefile finds the programs a Makefile's recipes run, and those of
// $(shell …) in its variables. Variables defined in the file are expanded
// ($(GO) is go), $(if C,THEN) keeps THEN, $(shell X) becomes the command
// substitution $(X), and $$ is $.
func FromMakefile(file string, src []byte) ([]Use, error) {
	lines := strings.Split(string(src), "\n")
	vars := map[string]string{}
	for _, l := range lines {
		if m := makeAssign.FindStringSubmatch(l); m != nil {
			vars[m[1]] = m[2]
		}
	}
	var uses []Use
	for i, l := range lines {
		var sh string
		switch {
		case strings.HasPrefix(l, "\t"):
			sh = strings.TrimLeft(strings.TrimPrefix(l, "\t"), "@-+")
			if strings.HasPrefix(sh, "#") {
				continue
			}
		case strings.Contains(l, "$(shell "):
			m := makeAssign.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			sh = "x=" + m[2] // an assignment, so only the substitution runs
		default:
			continue
		}
		more, err := FromShell(file, []byte(expandMake(sh, vars, 0)), i)
		if err != nil {
			return nil, err
		}
		uses = append(uses, more...)
	}
	return uses, nil
}

func expandMake(s string, vars map[string]string, depth int) string {
	if depth > 10 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(', '{':
			end := matching(s, i+1)
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(expandRef(s[i+2:end], vars, depth))
			i = end
		default:
			i++ // $@, $<, $x: automatic variables, nothing to run
		}
	}
	return b.String()
}

func expandRef(ref string, vars map[string]string, depth int) string {
	switch {
	case strings.HasPrefix(ref, "shell "):
		return "$(" + expandMake(strings.TrimPrefix(ref, "shell "), vars, depth+1) + ")"
	case strings.HasPrefix(ref, "if "):
		parts := splitTop(strings.TrimPrefix(ref, "if "))
		if len(parts) > 1 {
			return expandMake(parts[1], vars, depth+1)
		}
		return ""
	}
	if v, ok := vars[ref]; ok {
		return expandMake(v, vars, depth+1)
	}
	return "x" // a variable from outside (CURDIR …): a word, not a program
}

// matching is the index of the parenthesis closing the one at open.
func matching(s string, open int) int {
	closeCh := byte(')')
	if s[open] == '{' {
		closeCh = '}'
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case s[open]:
			depth++
		case closeCh:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTop splits a make function's arguments at commas outside parentheses.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
