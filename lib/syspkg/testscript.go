package syspkg

import (
	"fmt"
	"strings"
)

// FromTestscript finds the programs a testscript (txtar) runs: the PROG of
// exec, exits and exits-start lines (and of sh -c bodies), and the names
// tested by [exec:PROG] conditions. Commands run inside a box (host-exec)
// are left out: they come from the box's own root (lib/hosttest).
func FromTestscript(file string, src []byte) ([]Use, error) {
	var uses []Use
	for i, raw := range strings.Split(string(src), "\n") {
		line := i + 1
		if strings.HasPrefix(raw, "-- ") && strings.HasSuffix(strings.TrimSpace(raw), " --") {
			break // the archive's files follow: data, not script
		}
		words, err := testscriptWords(raw)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		for len(words) > 0 && strings.HasPrefix(words[0], "[") && strings.HasSuffix(words[0], "]") {
			cond := strings.TrimPrefix(strings.Trim(words[0], "[]"), "!")
			if prog, ok := strings.CutPrefix(cond, "exec:"); ok {
				uses = append(uses, Use{Program: prog, File: file, Line: line})
			}
			words = words[1:]
		}
		if len(words) > 0 && (words[0] == "!" || words[0] == "?") {
			words = words[1:]
		}
		if len(words) == 0 {
			continue
		}
		var argv []string
		switch words[0] {
		case "exec":
			argv = words[1:]
		case "exits", "exits-start":
			if len(words) > 2 {
				argv = words[2:]
			}
		}
		if len(argv) == 0 {
			continue
		}
		for _, prog := range commandWords(argv) {
			if prog != "" && !strings.HasPrefix(prog, "$") && !shellBuiltins[prog] {
				uses = append(uses, Use{Program: prog, File: file, Line: line})
			}
		}
		if body, ok := shellBody(argv); ok {
			more, err := FromShell(file, []byte(body), line-1)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: sh -c: %w", file, line, err)
			}
			uses = append(uses, more...)
		}
	}
	return uses, nil
}

// testscriptWords splits a script line as testscript does: words separated
// by blanks, single quotes around literal text (” inside them is one
// quote), # starting a comment; a word holding $ is kept as written
// (marked non-literal by a leading $ only when it starts with one).
func testscriptWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			if c == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					cur.WriteByte('\'')
					i++
					continue
				}
				quoted = false
				continue
			}
			cur.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ' || c == '\t' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words, nil
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
