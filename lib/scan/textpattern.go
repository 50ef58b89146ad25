package scan

import (
	"regexp"
	"strings"
)

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
