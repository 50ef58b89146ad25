package gitleaks

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/detect/codec"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// Anchored matching is on in every build. With Go's regexp (a build
// without the gore2regex tag) an unanchored search of the generic-api-key
// rule alone costs more than the rest of a scan; RE2 builds a DFA and
// gains less, but still some.
const anchoredByDefault = true

// windowed is a rule whose matches an anchor finds. A fragment where it has
// none is not handed to gitleaks for it; a fragment where it has some is
// handed over in pieces: the lines of the matches, with the newline before
// them, which is all gitleaks reads to turn a match into a finding (its
// secret group, entropy, allowlists, gitleaks:allow, location).
type windowed struct {
	keywords []string // lower-cased; none: the rule always applies
	anchor   *anchor
	// det holds this rule alone, its keywords cleared: they are checked on
	// the whole fragment, and a piece need not contain one.
	det *detect.Detector
	// lineLists are the allowlists that apply to the rule and match lines
	lineLists []*config.Allowlist
	// entropy and group are the rule's: the least entropy of a secret, and
	// the submatch that holds it
	entropy float64
	group   int
	// orLists are the allowlists that apply to the rule and allow a
	// finding on one condition (not all of them)
	orLists []*config.Allowlist
	// decoding makes (once, on first use: few rules ever need it) a
	// detector holding this rule alone, keywords kept, that decodes as the
	// engine's full detector does: for a fragment where a decoded pass
	// gives the rule a match
	decoding func() *detect.Detector
}

// split moves the rules an anchor can match out of cfg; cfg keeps the rest.
// Rules that take part in composite (required) rules stay: their findings
// are looked up across the whole fragment.
func split(cfg *config.Config) []*windowed {
	inComposite := map[string]bool{}
	for id, r := range cfg.Rules {
		for _, req := range r.RequiredRules {
			inComposite[id] = true
			inComposite[req.RuleID] = true
		}
	}
	rest := maps.Clone(cfg.Rules)
	var out []*windowed
	for _, id := range slices.Sorted(maps.Keys(cfg.Rules)) {
		r := cfg.Rules[id]
		if r.Regex == nil || r.SkipReport || inComposite[id] {
			continue
		}
		a := newAnchor(r.Regex)
		if a == nil {
			continue
		}
		w := &windowed{
			anchor: a, lineLists: targetingLines(cfg.Allowlists, r.Allowlists),
			entropy: r.Entropy, group: r.SecretGroup,
		}
		for _, al := range slices.Concat(cfg.Allowlists, r.Allowlists) {
			if al.MatchCondition != config.AllowlistMatchAnd {
				w.orLists = append(w.orLists, al)
			}
		}
		for _, k := range r.Keywords {
			w.keywords = append(w.keywords, strings.ToLower(k))
		}
		one := *cfg
		r.Keywords = nil
		one.Rules = map[string]config.Rule{id: r}
		one.OrderedRules = []string{id}
		one.Keywords = map[string]struct{}{}
		w.det = detect.NewDetector(one)
		one.Rules = map[string]config.Rule{id: cfg.Rules[id]}
		one.Keywords = map[string]struct{}{}
		for _, k := range w.keywords {
			one.Keywords[k] = struct{}{}
		}
		w.decoding = sync.OnceValue(func() *detect.Detector {
			d := detect.NewDetector(one)
			d.MaxDecodeDepth = MaxDecodeDepth
			return d
		})
		out = append(out, w)
		delete(rest, id)
	}
	cfg.Rules = rest
	return out
}

func targetingLines(lists ...[]*config.Allowlist) []*config.Allowlist {
	var out []*config.Allowlist
	for _, as := range lists {
		for _, a := range as {
			if a.RegexTarget == "line" {
				out = append(out, a)
			}
		}
	}
	return out
}

// sameOnLines reports whether the allowlists that match lines say the same
// of a whole line and of a piece of it.
func (w *windowed) sameOnLines(line, piece string) bool {
	for _, a := range w.lineLists {
		if a.RegexAllowed(line) != a.RegexAllowed(piece) {
			return false
		}
	}
	return true
}

// keywordTrie finds the rules' keywords in a lower-cased fragment, as
// gitleaks' own prefilter does.
func keywordTrie(rules map[string]config.Rule) *ahocorasick.Trie {
	set := map[string]bool{}
	for _, r := range rules {
		for _, k := range r.Keywords {
			set[strings.ToLower(k)] = true
		}
	}
	return ahocorasick.NewTrieBuilder().AddStrings(slices.Sorted(maps.Keys(set))).Build()
}

// detectWindowed returns the windowed rules' findings in a fragment that
// is not decoded.
func (e *Engine) detectWindowed(ctx context.Context, fr sources.Fragment, present map[string]bool) []report.Finding {
	var findings []report.Finding
	e.eachWindowed(ctx, fr, present, func(_ int, fs []report.Finding) { findings = append(findings, fs...) })
	return findings
}

// eachWindowed calls found with the findings of each windowed rule (by
// index) that has some in fr, not decoded.
func (e *Engine) eachWindowed(ctx context.Context, fr sources.Fragment, present map[string]bool, found func(int, []report.Finding)) {
	raw := fr.Raw
	if raw == "" || len(e.windowed) == 0 {
		return
	}
	var lower string
	for i, w := range e.windowed {
		if ctx.Err() != nil {
			return
		}
		if !w.wanted(present) {
			continue
		}
		var fs []report.Finding
		if !w.anchor.Exact(raw) {
			fs = run(ctx, w.det, fr)
		} else {
			if lower == "" {
				lower = lowerASCIIString(raw)
			}
			if ms := w.anchor.FindAll(raw, lower); len(ms) > 0 {
				fs = w.inPieces(ctx, fr, ms, lower)
			}
		}
		if len(fs) > 0 {
			found(i, fs)
		}
	}
}

// present returns the rules' keywords in text, lower-cased as gitleaks
// lower-cases a fragment to look for them.
func (e *Engine) present(text string) map[string]bool {
	present := map[string]bool{}
	for _, m := range e.keywords.MatchString(strings.ToLower(text)) {
		present[m.MatchString()] = true
	}
	return present
}

// wanted reports whether gitleaks would run the rule on a text with these
// keywords.
func (w *windowed) wanted(present map[string]bool) bool {
	return wanted(w.keywords, present)
}

func wanted(keywords []string, present map[string]bool) bool {
	if len(keywords) == 0 {
		return true
	}
	for _, k := range keywords {
		if present[k] {
			return true
		}
	}
	return false
}

// restWanted reports whether a rule left to the engine's own detectors
// applies to a text with these keywords: one that has them, one that has
// no keywords, or (when the detector is handed the file's path) a rule on
// paths.
func (e *Engine) restWanted(present map[string]bool, path string) bool {
	if path != "" {
		return true
	}
	for _, ks := range e.restKeywords {
		if wanted(ks, present) {
			return true
		}
	}
	return false
}

// restKeywords returns the lower-cased keywords of each rule in rules that
// can find something in a fragment handed over without a path: all but
// the path-only rules.
func restKeywords(rules map[string]config.Rule) [][]string {
	var out [][]string
	for _, r := range rules {
		if r.Regex == nil && r.Path != nil {
			continue // path-only: no path, no finding
		}
		ks := []string{}
		for _, k := range r.Keywords {
			ks = append(ks, strings.ToLower(k))
		}
		out = append(out, ks)
	}
	return out
}

// detectWindowedDecoding returns the windowed rules' findings in a fragment
// that decodes. The decoded passes are made here, as gitleaks makes them; a
// rule that has no match overlapping a decoded segment in any pass has the
// findings of the first pass, found as in a fragment that does not decode,
// and a rule that has one is handed, with the fragment, to its own decoding
// detector.
//
// It also reports whether a rule left to the engine's own detectors applies
// to the fragment in some pass.
func (e *Engine) detectWindowedDecoding(ctx context.Context, fr sources.Fragment, present map[string]bool) ([]report.Finding, bool) {
	rest := e.restWanted(present, fr.FilePath)
	decoded := make([]bool, len(e.windowed))
	cur := fr.Raw
	var segs []*codec.EncodedSegment
	dec := codec.NewDecoder()
	for depth := 1; depth <= MaxDecodeDepth && ctx.Err() == nil; depth++ {
		// a pass that would find nothing to decode ends the passes, as
		// Decode's empty answer would, without its regular expression
		if depth > 1 && !mayDecode(cur) {
			break
		}
		if cur, segs = dec.Decode(cur, segs); len(segs) == 0 {
			break
		}
		present := e.present(cur)
		rest = rest || e.restWanted(present, fr.FilePath)
		var lower string
		for i, w := range e.windowed {
			if decoded[i] || !w.wanted(present) {
				continue
			}
			if !w.anchor.Exact(cur) {
				decoded[i] = true
				continue
			}
			if lower == "" {
				lower = lowerASCIIString(cur)
			}
			for _, m := range w.anchor.FindAll(cur, lower) {
				if len(codec.SegmentsWithDecodedOverlap(segs, m[0], m[1])) > 0 {
					decoded[i] = true
					break
				}
			}
		}
	}
	var findings []report.Finding
	for i, w := range e.windowed {
		if decoded[i] {
			findings = append(findings, run(ctx, w.decoding(), fr)...)
		}
	}
	e.eachWindowed(ctx, fr, present, func(i int, fs []report.Finding) {
		if !decoded[i] {
			findings = append(findings, fs...)
		}
	})
	return findings, rest
}

// inPieces runs w's detector on the lines of each run of matches ms and
// checks each piece has exactly those matches; where one does not (the
// expression looks at text the piece leaves out), the whole fragment is
// scanned instead.
func (w *windowed) inPieces(ctx context.Context, fr sources.Fragment, ms [][]int, lower string) []report.Finding {
	raw := fr.Raw
	var findings []report.Finding
	for i := 0; i < len(ms); {
		// from the newline before the first match's line …
		from := max(strings.LastIndexByte(raw[:ms[i][0]], '\n'), 0)
		// … to the newline after the last match that starts before it
		to := len(raw)
		j := i
		for ; j < len(ms) && ms[j][0] < to; j++ {
			to = len(raw)
			if nl := strings.IndexByte(raw[ms[j][1]:], '\n'); nl >= 0 {
				to = ms[j][1] + nl + 1
			}
		}
		shift := 0 // to add to a piece's columns
		if to-from > longLine && !strings.Contains(raw[ms[i][0]:ms[j-1][1]], "\n") &&
			!strings.Contains(raw[from:to], gitleaksAllow) {
			// one long line: a piece of it around the matches, whose
			// columns are shifted back to the line's
			line, end := from, to
			from, to = runeBack(raw, max(ms[i][0]-margin, from)), runeAhead(raw, min(ms[j-1][1]+margin, to))
			if raw[from] == '\n' {
				from++
			}
			if to > 0 && raw[to-1] == '\n' {
				to--
			}
			// the line gitleaks would check allowlists on, and the piece's
			if end > line && raw[end-1] == '\n' {
				end--
			}
			if w.sameOnLines(raw[line:end], raw[from:to]) {
				shift = from - line
			} else {
				from, to = line, end
			}
		}
		if !w.anyMayFind(raw, ms[i:j]) {
			i = j
			continue
		}
		piece := fr
		piece.Raw = raw[from:to]
		piece.StartLine = fr.StartLine + strings.Count(raw[:from], "\n")
		// the anchor answers for the piece as for the fragment (the piece is
		// part of it, so Exact holds), and as FindAllStringIndex would
		got := w.anchor.FindAll(piece.Raw, lower[from:to])
		if !sameMatches(got, ms[i:j], from) {
			return run(ctx, w.det, fr)
		}
		for _, f := range run(ctx, w.det, piece) {
			f.StartColumn += shift
			f.EndColumn += shift
			findings = append(findings, f)
		}
		i = j
	}
	return findings
}

// anyMayFind reports whether one of the matches ms could become a finding:
// whether its secret, taken as gitleaks takes it, is not too low in
// entropy for the rule nor surely allowed. gitleaks sums a map's entries
// in random order, so only a secret clearly below the rule's entropy is
// ruled out.
func (w *windowed) anyMayFind(raw string, ms [][]int) bool {
	for _, m := range ms {
		secret := strings.Trim(raw[m[0]:m[1]], "\n")
		groups := w.anchor.re.FindStringSubmatch(secret)
		if len(groups) >= 2 {
			if w.group > 0 {
				if len(groups) <= w.group {
					continue // gitleaks skips the match
				}
				secret = groups[w.group]
			} else {
				for _, g := range groups[1:] {
					if g != "" {
						secret = g
						break
					}
				}
			}
		}
		if (w.entropy == 0 || entropy(secret) > w.entropy-1e-9) && !w.surelyAllowed(strings.Trim(raw[m[0]:m[1]], "\n"), secret) {
			return true
		}
	}
	return false
}

// surelyAllowed reports whether an allowlist that applies to the rule
// (global or the rule's own, matching on either condition) allows the
// finding of match and secret whatever its line: gitleaks would drop it.
func (w *windowed) surelyAllowed(match, secret string) bool {
	for _, a := range w.orLists {
		if ok, _ := a.ContainsStopWord(secret); ok {
			return true
		}
		switch a.RegexTarget {
		case "line":
		case "match":
			if a.RegexAllowed(match) {
				return true
			}
		default:
			if a.RegexAllowed(secret) {
				return true
			}
		}
	}
	return false
}

// entropy is gitleaks' Shannon entropy of s, in bits per byte of s.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	e, inv := 0.0, 1/float64(len(s))
	for _, n := range counts {
		f := float64(n) * inv
		e -= f * math.Log2(f)
	}
	return e
}

// A line longer than longLine is cut to the matches on it, with margin
// bytes either side, unless the line holds gitleaks:allow or an allowlist
// that matches lines says something else of the piece than of the line
// (gitleaks checks both on the line of a match).
const (
	longLine      = 1024
	margin        = 64
	gitleaksAllow = "gitleaks:allow"
)

// runeBack and runeAhead move i to the start of the rune it falls in, or
// after it.
func runeBack(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

func runeAhead(s string, i int) int {
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return i
}

func sameMatches(got, want [][]int, off int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i][0]+off != want[i][0] || got[i][1]+off != want[i][1] {
			return false
		}
	}
	return true
}

// preferSpecific drops a generic rule's finding where another rule found
// the same secret on the same line, as gitleaks does among the findings of
// one fragment.
func preferSpecific(findings []report.Finding) []report.Finding {
	out := findings[:0:0]
	for _, f := range findings {
		keep := true
		if strings.Contains(strings.ToLower(f.RuleID), "generic") {
			for _, g := range findings {
				if f.StartLine == g.StartLine && f.Commit == g.Commit && f.RuleID != g.RuleID &&
					strings.Contains(g.Secret, f.Secret) && !strings.Contains(strings.ToLower(g.RuleID), "generic") {
					keep = false
					break
				}
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	return out
}

// run hands one fragment to a detector.
func run(ctx context.Context, d *detect.Detector, fr sources.Fragment) []report.Finding {
	// DetectContext takes detect.Fragment until gitleaks v9; v8.30 has no
	// non-deprecated way to hand it one fragment.
	//lint:ignore SA1019 see above
	return d.DetectContext(ctx, detect.Fragment(fr))
}
