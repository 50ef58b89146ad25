package gitleaks

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

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
