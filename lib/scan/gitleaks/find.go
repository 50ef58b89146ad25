package gitleaks

import (
	"slices"
	"strings"
	"unicode/utf8"
)

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
