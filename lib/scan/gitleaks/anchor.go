package gitleaks

import (
	"regexp/syntax"
	"sync"

	gregexp "github.com/zricethezav/gitleaks/v8/regexp"
)

// An anchor finds all the matches of a rule's regular expression in a text
// — exactly what FindAllStringIndex returns — without running the
// expression over the whole text. It is built from the expression's syntax
// when the expression is a concatenation
//
//	A · K · B
//
// where K matches one of a few literal strings (the anchor) and A's length is
// bounded or A cannot cross a line. Every match then contains an occurrence
// of a K string, and starts a bounded distance before it: the anchor finds
// the occurrences with strings.Index, and tries the expression, anchored, only
// at those starts. Go's regexp simulates an automaton thread per start
// position on an unanchored search, so on text where the literal is rare
// this is much faster (bench/env-scan measures it); RE2 runs a DFA and
// gains less.
//
// Exactness rests on three facts the constructor checks:
//   - the matches FindAll reports are the leftmost-first match at the
//     leftmost start at or after the end of the previous one, and a match
//     at a start depends only on the text from the rune before the start
//     (kept as context) to one rune past the match's end;
//   - no match is empty (K's strings are not), so the rule for empty
//     matches abutting the previous one never applies;
//   - a match holds at most maxLen bytes and at most maxNL newlines, so the
//     text handed to each anchored attempt ends beyond any match's reach
//     and end-of-text assertions see what they would in the whole text.
//
// Texts that are not valid UTF-8, or that hold a non-ASCII rune that folds
// to an anchor letter (U+212A KELVIN SIGN for k, U+017F LONG S for s), are
// scanned with the expression itself (Exact reports false).
type anchor struct {
	re *gregexp.Regexp
	// at0 is ^(?:re), tried at offset 0; atN is ^(?s:.)(?:re), tried from
	// the rune before a start so that \b and (?m)^ see the real context.
	at0, atN *gregexp.Regexp
	once     sync.Once
	heads    []head
	repeats  bool   // every head is a repeat head
	folds    []rune // non-ASCII runes that match an anchor letter under (?i)
	maxLen   int    // of a whole match in bytes; < 0: unbounded
	maxNL    int    // newlines in a whole match; < 0: unbounded
}

// maxLits bounds K's language: more strings than this is not a literal.
const maxLits = 64

// newAnchor returns the anchor of re, or nil when re does not have the
// shape above. A top-level alternation is taken branch by branch, and K
// may itself be an alternation whose branches each begin with a literal
// part (hvs\.… | s\.…): each branch and literal gives the anchor a head.
func newAnchor(re *gregexp.Regexp) *anchor {
	src := re.String()
	tree, err := syntax.Parse(src, syntax.Perl)
	if err != nil || minLen(tree) == 0 {
		return nil
	}
	a := &anchor{re: re, maxLen: maxBytes(tree), maxNL: maxNewlines(tree)}
	branches := []*syntax.Regexp{tree}
	for top := tree; ; top = top.Sub[0] {
		if top.Op == syntax.OpAlternate {
			branches = top.Sub
		}
		if top.Op != syntax.OpCapture {
			break
		}
	}
	for _, b := range branches {
		hs, ok := headsOf(b, &a.folds)
		if !ok {
			return nil
		}
		a.heads = append(a.heads, hs...)
	}
	a.repeats = true
	for _, h := range a.heads {
		a.repeats = a.repeats && h.repeat
	}
	return a
}

// anchored compiles at0 and atN on first use: a short run meets few of a
// rule set's literals, and RE2 compiles slowly enough for 222 rules twice
// over to show in its start-up. Wrapping a pattern that compiled in a
// group cannot make it fail to.
func (a *anchor) anchored() (at0, atN *gregexp.Regexp) {
	a.once.Do(func() {
		src := a.re.String()
		a.at0 = gregexp.MustCompile(`^(?:` + src + `)`)
		a.atN = gregexp.MustCompile(`^(?s:.)(?:` + src + `)`)
	})
	return a.at0, a.atN
}

func compile(src string) (re *gregexp.Regexp, err error) {
	defer func() {
		if recover() != nil {
			re, err = nil, errBadPattern
		}
	}()
	return gregexp.MustCompile(src), nil
}

type patternError string

func (e patternError) Error() string { return string(e) }

const errBadPattern = patternError("pattern does not compile")
