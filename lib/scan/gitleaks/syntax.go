package gitleaks

import (
	"maps"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
