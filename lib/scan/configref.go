package scan

import (
	"strings"
)

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
