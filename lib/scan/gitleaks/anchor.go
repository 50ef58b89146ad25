package gitleaks

import (
	"maps"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

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

// A head is one way a match can have its K: one of lits, preceded by a
// prefix of minA..maxA bytes drawn from inA, followed by the parts after.
type head struct {
	lits       []string
	minA, maxA int
	inA        [256]bool
	after      []*part
	// repeat: the prefix is one repetition of a class (or nothing), minA
	// and maxA count its runes and inA holds exactly its ASCII runes (its
	// others are folds Exact keeps out of the text). A match that has its
	// K at an occurrence can then start at the leftmost start allowed,
	// if anywhere: the prefix can take any more of the class's runes.
	repeat bool
}

// repeatOf makes h a repeat head when its prefix p is a repetition of a
// class with at most maxFolds non-ASCII runes.
func (h *head) repeatOf(p *syntax.Regexp, folds *[]rune) {
	lo, hi, ok := counts(p)
	if !ok {
		return
	}
	class := p.Sub[0]
	if class.Op != syntax.OpCharClass {
		return
	}
	nonASCII, n := fewNonASCII(class), 0
	for i := 0; i+1 < len(class.Rune); i += 2 {
		if class.Rune[i+1] >= utf8.RuneSelf {
			n += int(class.Rune[i+1] - max(class.Rune[i], utf8.RuneSelf) + 1)
		}
	}
	if n != len(nonASCII) {
		return // too many to keep out of the text
	}
	var in [256]bool
	for i := 0; i+1 < len(class.Rune); i += 2 {
		for r := class.Rune[i]; r <= class.Rune[i+1] && r < utf8.RuneSelf; r++ {
			in[r] = true
		}
	}
	*folds = append(*folds, nonASCII...)
	h.minA, h.maxA, h.inA, h.repeat = lo, hi, in, true
}

// counts returns how many times a repetition repeats (hi < 0: unbounded).
func counts(re *syntax.Regexp) (lo, hi int, ok bool) {
	switch re.Op {
	case syntax.OpStar:
		return 0, -1, true
	case syntax.OpPlus:
		return 1, -1, true
	case syntax.OpQuest:
		return 0, 1, true
	case syntax.OpRepeat:
		return re.Min, re.Max, true
	}
	return 0, 0, false
}

// headsOf returns the heads of one branch: its K is the part (or the
// alternation of parts) with the longest shortest literal.
func headsOf(branch *syntax.Regexp, folds *[]rune) ([]head, bool) {
	parts := flatten(branch)
	var best []head
	var bestFolds []rune
	bestScore := 0
	for i, p := range parts {
		prefix := &syntax.Regexp{Op: syntax.OpConcat, Sub: parts[:i]}
		if maxBytes(prefix) < 0 && prefixChars(prefix)['\n'] {
			continue // a match could start anywhere before the literal
		}
		// K is p itself, or each branch of p when p is an alternation
		// of branches that begin with a literal part
		type alt struct {
			k     *syntax.Regexp
			after []*syntax.Regexp
		}
		alts := []alt{{p, parts[i+1:]}}
		if p.Op == syntax.OpAlternate {
			if _, ok := language(p, new([]rune)); !ok {
				alts = nil
				for _, sb := range p.Sub {
					sf := flatten(sb)
					alts = append(alts, alt{sf[0], append(slices.Clip(sf[1:]), parts[i+1:]...)})
				}
			}
		}
		var hs []head
		var fs []rune
		score := -1
		for _, al := range alts {
			lits, ok := language(al.k, &fs)
			if !ok || len(lits) == 0 {
				score = 0
				break
			}
			for _, l := range lits {
				if score < 0 || len(l) < score {
					score = len(l)
				}
			}
			for _, p := range al.after {
				language(p, &fs) // what the literals after K fold to
				fs = append(fs, fewNonASCII(p)...)
			}
			h := head{
				lits: dedupe(lits), minA: minLen(prefix), maxA: maxBytes(prefix),
				inA: prefixChars(prefix), after: compileParts(al.after), repeat: i == 0,
			}
			if i == 1 {
				h.repeatOf(parts[0], &fs)
			}
			hs = append(hs, h)
		}
		if score > bestScore {
			best, bestScore, bestFolds = hs, score, fs
		}
	}
	if best == nil {
		return nil, false
	}
	*folds = append(*folds, bestFolds...)
	return best, true
}

// maxFolds is how many non-ASCII runes a class may hold and still be
// followed: (?i) adds U+212A and U+017F to classes with k or s, and the
// anchor only answers for texts without them (Exact).
const maxFolds = 8

// fewNonASCII returns the non-ASCII runes of re's classes that hold at most
// maxFolds of them.
func fewNonASCII(re *syntax.Regexp) []rune {
	var out []rune
	if re.Op == syntax.OpCharClass {
		var rs []rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := max(re.Rune[i], utf8.RuneSelf); r <= re.Rune[i+1] && len(rs) <= maxFolds; r++ {
				rs = append(rs, r)
			}
		}
		if len(rs) <= maxFolds {
			out = rs
		}
	}
	for _, s := range re.Sub {
		out = append(out, fewNonASCII(s)...)
	}
	return out
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

// flatten returns the parts of a top-level concatenation, looking through
// capture groups (which do not change what text matches).
func flatten(re *syntax.Regexp) []*syntax.Regexp {
	switch re.Op {
	case syntax.OpCapture:
		return flatten(re.Sub[0])
	case syntax.OpConcat:
		var out []*syntax.Regexp
		for _, s := range re.Sub {
			out = append(out, flatten(s)...)
		}
		return out
	}
	return []*syntax.Regexp{re}
}

// language returns the strings re matches, ASCII lower-cased, when they are
// few; folds collects the non-ASCII runes a case-folded literal also
// matches, which lower-casing ASCII does not find.
func language(re *syntax.Regexp, folds *[]rune) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		var b strings.Builder
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				lo := r
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					lo = min(lo, f)
					if f >= utf8.RuneSelf {
						*folds = append(*folds, f)
					}
				}
				if r >= utf8.RuneSelf {
					*folds = append(*folds, r)
				}
				r = lo
			}
			b.WriteRune(lowerASCII(r))
		}
		return []string{b.String()}, true
	case syntax.OpCharClass:
		set := map[string]bool{}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi-lo >= maxLits {
				return nil, false
			}
			for r := lo; r <= hi; r++ {
				set[string(lowerASCII(r))] = true
			}
			if len(set) > maxLits {
				return nil, false
			}
		}
		return slices.Sorted(maps.Keys(set)), true
	case syntax.OpCapture:
		return language(re.Sub[0], folds)
	case syntax.OpQuest:
		l, ok := language(re.Sub[0], folds)
		return append(l, ""), ok
	case syntax.OpAlternate:
		set := map[string]bool{}
		for _, s := range re.Sub {
			l, ok := language(s, folds)
			if !ok {
				return nil, false
			}
			for _, x := range l {
				set[x] = true
			}
			if len(set) > maxLits {
				return nil, false
			}
		}
		return slices.Sorted(maps.Keys(set)), true
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			l, ok := language(s, folds)
			if !ok || len(out)*len(l) > maxLits {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(l))
			for _, a := range out {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return dedupe(out), true
	case syntax.OpRepeat:
		if re.Max < 0 || re.Max > 4 {
			return nil, false
		}
		sub, ok := language(re.Sub[0], folds)
		if !ok {
			return nil, false
		}
		set := map[string]bool{}
		cur := []string{""}
		for n := 0; n <= re.Max; n++ {
			if n >= re.Min {
				for _, x := range cur {
					set[x] = true
				}
			}
			if n == re.Max {
				break
			}
			if len(cur)*len(sub) > maxLits {
				return nil, false
			}
			var next []string
			for _, a := range cur {
				for _, b := range sub {
					next = append(next, a+b)
				}
			}
			cur = next
		}
		if len(set) > maxLits {
			return nil, false
		}
		return slices.Sorted(maps.Keys(set)), true
	}
	return nil, false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func dedupe(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// minLen is the fewest bytes a match of re holds.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				n++ // an ASCII fold partner may be shorter
				continue
			}
			n += utf8.RuneLen(r)
		}
		return n
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minLen(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // empty-width, star, quest, empty match
}

// maxBytes is the most bytes a match of re holds, or -1 when unbounded.
func maxBytes(re *syntax.Regexp) int {
	return most(re, func(leaf *syntax.Regexp) int {
		switch leaf.Op {
		case syntax.OpLiteral:
			return len(leaf.Rune) * utf8.UTFMax
		case syntax.OpCharClass:
			n := 0
			for i := 1; i < len(leaf.Rune); i += 2 {
				n = max(n, utf8.RuneLen(leaf.Rune[i]))
			}
			return n
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			return utf8.UTFMax
		}
		return 0
	})
}

// maxNewlines is the most newlines a match of re holds, or -1 when
// unbounded.
func maxNewlines(re *syntax.Regexp) int {
	return most(re, func(leaf *syntax.Regexp) int {
		switch leaf.Op {
		case syntax.OpLiteral:
			return strings.Count(string(leaf.Rune), "\n")
		case syntax.OpCharClass:
			for i := 0; i+1 < len(leaf.Rune); i += 2 {
				if leaf.Rune[i] <= '\n' && '\n' <= leaf.Rune[i+1] {
					return 1
				}
			}
		case syntax.OpAnyChar:
			return 1
		}
		return 0
	})
}

// most is the greatest total of leaf over the leaves a match of re goes
// through, or -1 when unbounded.
func most(re *syntax.Regexp, leaf func(*syntax.Regexp) int) int {
	switch re.Op {
	case syntax.OpCapture, syntax.OpQuest:
		return most(re.Sub[0], leaf)
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		m := most(re.Sub[0], leaf)
		switch {
		case m == 0:
			return 0
		case m < 0 || re.Op != syntax.OpRepeat || re.Max < 0:
			return -1
		}
		return m * re.Max
	case syntax.OpConcat, syntax.OpAlternate:
		n := 0
		for _, s := range re.Sub {
			m := most(s, leaf)
			if m < 0 {
				return -1
			}
			if re.Op == syntax.OpConcat {
				n += m
			} else {
				n = max(n, m)
			}
		}
		return n
	}
	return leaf(re)
}

// prefixChars returns the bytes that can occur in a match of re: each ASCII
// rune re can match, and every byte from 0x80 on if it can match any other.
func prefixChars(re *syntax.Regexp) [256]bool {
	var set [256]bool
	var walk func(*syntax.Regexp)
	addRune := func(r rune) {
		if r < utf8.RuneSelf {
			set[r] = true
			return
		}
		for b := utf8.RuneSelf; b < 256; b++ {
			set[b] = true
		}
	}
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				addRune(r)
				if re.Flags&syntax.FoldCase != 0 {
					for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
						addRune(f)
					}
				}
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(re.Rune); i += 2 {
				lo, hi := re.Rune[i], re.Rune[i+1]
				for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
					addRune(r)
				}
				if hi >= utf8.RuneSelf {
					addRune(utf8.RuneSelf)
				}
			}
		case syntax.OpAnyChar:
			for b := range set {
				set[b] = true
			}
		case syntax.OpAnyCharNotNL:
			for b := range set {
				if b != '\n' {
					set[b] = true
				}
			}
		default:
			for _, s := range re.Sub {
				walk(s)
			}
		}
	}
	walk(re)
	return set
}

// Exact reports whether FindAll can answer for text (see anchor).
func (a *anchor) Exact(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			if !utf8.ValidString(text) {
				return false
			}
			for _, f := range a.folds {
				if strings.ContainsRune(text, f) {
					return false
				}
			}
			return true
		}
	}
	return true
}

// FindAll returns what a.re.FindAllStringIndex(text, -1) returns; lower is
// text with ASCII letters lower-cased (the same length). Exact(text) must
// hold.
func (a *anchor) FindAll(text, lower string) [][]int {
	var spans [][2]int // candidate start ranges, inclusive
	for _, h := range a.heads {
		for _, lit := range h.lits {
			for off := 0; ; {
				i := strings.Index(lower[off:], lit)
				if i < 0 {
					break
				}
				p := off + i
				off = p + 1
				if !plausible(h.after, text, lower, p+len(lit)) {
					continue
				}
				hi := p - h.minA
				lo := p
				for lo > 0 && h.inA[text[lo-1]] && (h.maxA < 0 || p-(lo-1) <= h.maxA) {
					lo--
				}
				if lo <= hi {
					spans = append(spans, [2]int{lo, hi})
				}
			}
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	if a.repeats {
		return a.findAtLeftmost(text, spans)
	}
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp[0] <= last[1]+1 {
			last[1] = max(last[1], sp[1])
		} else {
			merged = append(merged, sp)
		}
	}
	var out [][]int
	pos := 0
	for _, sp := range merged {
		for s := max(sp[0], pos); s <= sp[1]; s++ {
			if s < len(text) && !utf8.RuneStart(text[s]) {
				continue
			}
			if e, ok := a.matchAt(text, s); ok {
				out = append(out, []int{s, e})
				pos = e
				s = e - 1
			}
		}
	}
	return out
}

// findAtLeftmost is FindAll's last step when every head is a repeat head:
// one attempt per occurrence, at the leftmost start its range allows.
// After a match, a range already passed that reaches beyond its end makes
// the end itself the next start to try.
func (a *anchor) findAtLeftmost(text string, spans [][2]int) [][]int {
	var out [][]int
	pos, last, reach := 0, -1, -1
	for _, sp := range spans {
		reach = max(reach, sp[1])
		s := max(sp[0], pos)
		if s > sp[1] || s == last {
			continue
		}
		for {
			last = s
			e, ok := a.matchAt(text, s)
			if !ok {
				break
			}
			out = append(out, []int{s, e})
			pos = e
			if reach < pos {
				break
			}
			s = pos
		}
	}
	return out
}

// plausible reports whether the parts after K could match from q. It is a
// relaxation of the expression — literals, ASCII classes and their
// repetitions are followed, any other part (or a class with non-ASCII
// runes) is taken to match — so a false answer is certain.
func plausible(after []*part, text, lower string, q int) bool {
	cur := []int{q}
	for _, p := range after {
		next, known := p.ends(text, lower, cur)
		if !known {
			return true
		}
		if len(next) == 0 {
			return false
		}
		cur = next
	}
	return true
}

// A part is one piece of the expression after K, as plausible follows it.
type part struct {
	op     partOp
	lits   []string  // partLits: lower-cased
	in     [128]bool // partClass: its ASCII runes
	lo, hi int       // partClass, partRepeat: counts (hi < 0: unbounded)
	subs   []*part   // partSeq, partAlt, partRepeat (one)
}

type partOp uint8

const (
	partUnknown partOp = iota // taken to match anything
	partEmpty                 // an assertion: not checked
	partLits
	partClass
	partRepeat
	partSeq
	partAlt
)

// maxEnds bounds the positions a part tracks; more, and it gives up.
const maxEnds = 512

func compileParts(res []*syntax.Regexp) []*part {
	out := make([]*part, len(res))
	for i, re := range res {
		out[i] = compilePart(re)
	}
	return out
}

func compilePart(re *syntax.Regexp) *part {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return &part{op: partEmpty}
	case syntax.OpLiteral:
		lits, _ := language(re, new([]rune))
		return &part{op: partLits, lits: lits}
	case syntax.OpCharClass:
		return classPart(re, 1, 1)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi, _ := counts(re)
		if re.Sub[0].Op == syntax.OpCharClass {
			return classPart(re.Sub[0], lo, hi)
		}
		if hi < 0 || hi > 8 {
			return &part{}
		}
		return &part{op: partRepeat, lo: lo, hi: hi, subs: []*part{compilePart(re.Sub[0])}}
	case syntax.OpCapture:
		return compilePart(re.Sub[0])
	case syntax.OpConcat, syntax.OpAlternate:
		p := &part{op: partSeq}
		if re.Op == syntax.OpAlternate {
			p.op = partAlt
		}
		for _, s := range re.Sub {
			p.subs = append(p.subs, compilePart(s))
		}
		return p
	}
	return &part{}
}

// classPart follows lo..hi runes of a class that is ASCII but for at most
// maxFolds runes, which Exact keeps out of the text.
func classPart(class *syntax.Regexp, lo, hi int) *part {
	p := &part{op: partClass, lo: lo, hi: hi}
	nonASCII := 0
	for i := 0; i+1 < len(class.Rune); i += 2 {
		if class.Rune[i+1] >= utf8.RuneSelf {
			nonASCII += int(class.Rune[i+1] - max(class.Rune[i], utf8.RuneSelf) + 1)
			if nonASCII > maxFolds {
				return &part{}
			}
		}
		for r := class.Rune[i]; r <= class.Rune[i+1] && r < utf8.RuneSelf; r++ {
			p.in[r] = true
		}
	}
	return p
}

// ends returns where p can end a match that starts at one of from (sorted),
// or known false when p is not a part plausible follows.
func (p *part) ends(text, lower string, from []int) (out []int, known bool) {
	switch p.op {
	case partEmpty:
		return from, true
	case partLits:
		for _, q := range from {
			for _, l := range p.lits {
				if strings.HasPrefix(lower[q:], l) {
					out = append(out, q+len(l))
				}
			}
		}
		return sortedSet(out), true
	case partClass:
		for _, q := range from {
			n := 0
			for q+n < len(text) && (p.hi < 0 || n < p.hi) && text[q+n] < utf8.RuneSelf && p.in[text[q+n]] {
				n++
			}
			for k := p.lo; k <= n; k++ {
				out = append(out, q+k)
			}
		}
		out = sortedSet(out)
		if len(out) > maxEnds {
			return nil, false
		}
		return out, true
	case partRepeat:
		cur := from
		if p.lo == 0 {
			out = slices.Clone(from)
		}
		for n := 1; n <= p.hi && len(cur) > 0; n++ {
			next, ok := p.subs[0].ends(text, lower, cur)
			if !ok {
				return nil, false
			}
			if n >= p.lo {
				out = append(out, next...)
			}
			cur = next
		}
		return sortedSet(out), true
	case partSeq:
		cur := from
		for _, s := range p.subs {
			next, ok := s.ends(text, lower, cur)
			if !ok {
				return nil, false
			}
			if len(next) == 0 {
				return nil, true
			}
			cur = next
		}
		return cur, true
	case partAlt:
		for _, s := range p.subs {
			next, ok := s.ends(text, lower, from)
			if !ok {
				return nil, false
			}
			out = append(out, next...)
		}
		return sortedSet(out), true
	}
	return nil, false
}

func sortedSet(s []int) []int {
	if len(s) > 1 {
		slices.Sort(s)
		s = slices.Compact(s)
	}
	return s
}

// matchAt returns the end of the leftmost-first match starting at s.
func (a *anchor) matchAt(text string, s int) (int, bool) {
	end := len(text)
	if a.maxLen >= 0 {
		end = min(end, s+a.maxLen+utf8.UTFMax)
	}
	if a.maxNL >= 0 {
		// past the newline that no match can reach
		p := s
		for range a.maxNL + 1 {
			if p >= end {
				break
			}
			i := strings.IndexByte(text[p:end], '\n')
			if i < 0 {
				p = end
				break
			}
			p += i + 1
		}
		end = min(end, p)
	}
	if s == 0 {
		at0, _ := a.anchored()
		loc := at0.FindStringIndex(text[:end])
		if loc == nil {
			return 0, false
		}
		return loc[1], true
	}
	_, w := utf8.DecodeLastRuneInString(text[:s])
	_, atN := a.anchored()
	loc := atN.FindStringIndex(text[s-w : end])
	if loc == nil {
		return 0, false
	}
	return s - w + loc[1], true
}

// lowerASCII returns s with its ASCII letters lower-cased: the same length,
// so offsets carry over.
func lowerASCIIString(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
