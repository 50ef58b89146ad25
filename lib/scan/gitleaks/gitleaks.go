// Package gitleaks is env-scan's hard-coded secret engine built on the
// gitleaks v8 detector, used as a library: its default rules, a
// repository's .gitleaks.toml, its allowlists and gitleaks:allow comments.
package gitleaks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/h2non/filetype"
	"github.com/mholt/archives"
	"github.com/rs/zerolog"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	gregexp "github.com/zricethezav/gitleaks/v8/regexp"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/vaultpipe/vaultpipe/lib/scan"
)

func init() {
	// gitleaks logs to stderr through a shared logger; env-scan's stderr is its own
	logging.Logger = logging.Logger.Level(zerolog.Disabled)
}

// Engine is a scan.Engine backed by one gitleaks detector.
type Engine struct {
	// FragmentSize is how many bytes are handed to the detector at once,
	// extended to the next blank line.
	FragmentSize int

	cfg config.Config
	// det decodes, plain does not: plain scans the fragments where
	// mayDecode says decoding would find nothing. Both hold the rules but
	// for windowed: those an anchor matches, when anchored matching is on.
	det      *detect.Detector
	plain    *detect.Detector
	windowed []*windowed
	keywords *ahocorasick.Trie
	// keepPaths hands the detector every fragment's path (see detectorPath)
	keepPaths bool
	// restKeywords are restWanted's: the rules det and plain hold
	restKeywords [][]string
	pathPats     sync.Map // *config.Allowlist → *anchor of its paths, or nil
	buffers      sync.Pool
}

// DefaultFragmentSize: 1–4 kB were fastest on the Vault source tree
// (bench/env-scan); 100 kB, gitleaks' own size, was 1.5× slower.
const DefaultFragmentSize = 2048

// MaxDecodeDepth is how many nested encodings (base64, hex, percent) are
// decoded before matching, as the gitleaks CLI does by default.
const MaxDecodeDepth = 5

var _ scan.Engine = (*Engine)(nil)

// configMu guards gitleaks' config loading, which goes through viper's
// global instance.
var configMu sync.Mutex

// New returns an engine using the gitleaks rules in configPath (a
// .gitleaks.toml), or gitleaks' default rules when configPath is "".
func New(configPath string) (*Engine, error) {
	return newEngine(configPath, anchoredByDefault)
}

// newEngine is New with anchored matching on or off; off, the engine hands
// every fragment to gitleaks whole, with its path, as the reference the
// tests compare it to.
func newEngine(configPath string, anchored bool) (*Engine, error) {
	cfg, err := load(configPath)
	if err != nil {
		return nil, err
	}
	rest := cfg
	rest.Rules = maps.Clone(cfg.Rules)
	var ws []*windowed
	if anchored {
		ws = split(&rest)
	}
	det := detect.NewDetector(rest)
	det.MaxDecodeDepth = MaxDecodeDepth
	e := &Engine{
		cfg: cfg, det: det, plain: detect.NewDetector(rest),
		windowed: ws, keywords: keywordTrie(cfg.Rules), keepPaths: !anchored,
		restKeywords: restKeywords(rest.Rules),
		FragmentSize: DefaultFragmentSize,
	}
	e.buffers.New = func() any { b := make([]byte, 100_000); return &b }
	return e, nil
}

func load(path string) (config.Config, error) {
	configMu.Lock()
	defer configMu.Unlock()
	src := config.DefaultConfig
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return config.Config{}, fmt.Errorf("reading gitleaks config: %w", err)
		}
		src = string(b)
	}
	vc, err := parse(src, path)
	if err != nil {
		return config.Config{}, err
	}
	key := src
	if vc.Extend.Path != "" {
		key = path + "\x00" + src // the extended file's path is relative
	}
	if cfg, ok := loaded[key]; ok {
		cfg.Path = path
		return cfg, nil
	}
	cfg, err := vc.Translate()
	if err != nil {
		return config.Config{}, fmt.Errorf("loading gitleaks config %s: %w", path, err)
	}
	if vc.Extend.UseDefault {
		// gitleaks counts the configurations it extends in a package
		// variable it never resets, and stops extending after two
		def, err := parse(config.DefaultConfig, "")
		if err != nil {
			return config.Config{}, err
		}
		for _, r := range def.Rules {
			if _, ok := cfg.Rules[r.ID]; !ok && !slices.Contains(vc.Extend.DisabledRules, r.ID) {
				return config.Config{}, fmt.Errorf("loading gitleaks config %s: the default rules were not added (gitleaks extends at most two configurations in one process)", path)
			}
		}
	}
	cfg.Path = path
	loaded[key] = cfg
	return cfg, nil
}

// loaded holds the configurations loaded, by content: loading one again
// would use up gitleaks' extension count.
var loaded = map[string]config.Config{}

func parse(src, path string) (config.ViperConfig, error) {
	viper.Reset()
	viper.SetConfigType("toml")
	var vc config.ViperConfig
	if err := viper.ReadConfig(strings.NewReader(src)); err != nil {
		return vc, fmt.Errorf("parsing gitleaks config %s: %w", path, err)
	}
	if err := viper.Unmarshal(&vc); err != nil {
		return vc, fmt.Errorf("parsing gitleaks config %s: %w", path, err)
	}
	return vc, nil
}

// RuleCount returns the number of rules loaded.
func (e *Engine) RuleCount() int { return len(e.cfg.Rules) }

// Skip applies gitleaks' global path allowlists, as its own directory walk does.
func (e *Engine) Skip(path string) bool {
	for _, a := range e.cfg.Allowlists {
		if e.pathAllowed(a, path) {
			return true
		}
	}
	return path != "" && path == e.det.Config.Path
}

// ScanReader streams r through the detector in gitleaks' own fragments.
func (e *Engine) ScanReader(ctx context.Context, path string, r io.Reader, found func(scan.Secret)) error {
	bp := e.buffers.Get().(*[]byte)
	defer e.buffers.Put(bp)
	src := &sources.File{Content: r, Path: path, Config: &e.det.Config, Buffer: *bp}
	fp := e.detectorPath(path)
	return src.Fragments(ctx, func(fr sources.Fragment, err error) error {
		if err != nil {
			return err
		}
		if fr.Raw != "" {
			fr.FilePath = fp
		}
		e.detect(ctx, fr, found)
		return nil
	})
}

// Scan cuts content into fragments of about FragmentSize bytes at blank
// lines — the boundary gitleaks itself cuts at, every 100 kB — and runs the
// detector on each. Smaller fragments make gitleaks' keyword prefilter and
// its decoding passes work on a few lines instead of a whole file.
func (e *Engine) Scan(ctx context.Context, path string, content []byte, found func(scan.Secret)) error {
	if len(content) == 0 {
		return nil
	}
	if skipContent(ctx, path, content) {
		// path-only rules (pkcs12-file) still apply to binaries and archives
		e.detect(ctx, sources.Fragment{FilePath: path}, found)
		return nil
	}
	fp := e.detectorPath(path)
	line := 1
	for start := 0; start < len(content); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := fragmentEnd(content, start, e.FragmentSize)
		raw := content[start:end]
		e.detect(ctx, sources.Fragment{Raw: string(raw), FilePath: fp, StartLine: line}, found)
		line += bytes.Count(raw, []byte{'\n'})
		start = end
	}
	return nil
}

func (e *Engine) detect(ctx context.Context, fr sources.Fragment, found func(scan.Secret)) {
	if fr.Raw == "" && fr.FilePath == "" {
		return
	}
	var findings []report.Finding
	decodes := mayDecode(fr.Raw)
	switch {
	case len(e.windowed) == 0 && decodes:
		findings = run(ctx, e.det, fr)
	case len(e.windowed) == 0:
		findings = run(ctx, e.plain, fr)
	case decodes:
		present := e.present(fr.Raw)
		var rest bool
		findings, rest = e.detectWindowedDecoding(ctx, fr, present)
		if rest {
			findings = append(findings, run(ctx, e.det, fr)...)
		}
		findings = preferSpecific(findings)
	default:
		present := e.present(fr.Raw)
		findings = e.detectWindowed(ctx, fr, present)
		if e.restWanted(present, fr.FilePath) {
			findings = append(findings, run(ctx, e.plain, fr)...)
		}
		findings = preferSpecific(findings)
	}
	for _, f := range findings {
		found(convert(fr, f))
	}
}

// detectorPath returns the path to hand the detector with a file's
// fragments: "" where no allowlist allows path and every rule's path
// pattern says of it what it says of "". gitleaks then skips the
// allowlists' path patterns, which it would otherwise run for every
// fragment and every rule that applies to it.
func (e *Engine) detectorPath(path string) string {
	if e.keepPaths || path == "" || path == e.cfg.Path {
		return path
	}
	for _, a := range e.cfg.Allowlists {
		if e.pathAllowed(a, path) {
			return path
		}
	}
	for _, r := range e.cfg.Rules {
		for _, a := range r.Allowlists {
			if e.pathAllowed(a, path) {
				return path
			}
		}
		if r.Path != nil && r.Path.MatchString(path) != r.Path.MatchString("") {
			return path
		}
	}
	return ""
}

// pathAllowed is a.PathAllowed(path), through an anchor for the pattern
// gitleaks joins a.Paths into when there is one.
func (e *Engine) pathAllowed(a *config.Allowlist, path string) bool {
	if a == nil || path == "" || len(a.Paths) == 0 {
		return false
	}
	m, ok := e.pathPats.Load(a)
	if !ok {
		m, _ = e.pathPats.LoadOrStore(a, pathAnchor(a.Paths))
	}
	if m := m.(*anchor); m != nil && m.Exact(path) {
		return len(m.FindAll(path, lowerASCIIString(path))) > 0
	}
	return a.PathAllowed(path)
}

// pathAnchor returns the anchor of the pattern an allowlist's paths are
// joined into (config.Allowlist's pathPat), or nil.
func pathAnchor(paths []*gregexp.Regexp) *anchor {
	srcs := make([]string, len(paths))
	for i, p := range paths {
		srcs[i] = p.String()
	}
	re, err := compile("(?:" + strings.Join(srcs, "|") + ")")
	if err != nil {
		return nil
	}
	return newAnchor(re)
}

// skipContent mirrors gitleaks' file source: archives (not opened) and
// files whose magic bytes say "application" are not scanned as text.
func skipContent(ctx context.Context, path string, content []byte) bool {
	if format, _, err := archives.Identify(ctx, path, nil); err == nil && format != nil {
		return true
	}
	mt, err := filetype.Match(content[:min(len(content), 100_000)])
	return err == nil && mt.MIME.Type == "application"
}

// fragmentEnd returns where the fragment starting at start should end: after
// the first blank line once size bytes are taken, else at a line end, else
// at the end of content.
func fragmentEnd(content []byte, start, size int) int {
	if len(content)-start <= size {
		return len(content)
	}
	const maxPeek = 25_000 // as gitleaks: give up looking for a blank line
	i := start + size
	limit := min(len(content), i+maxPeek)
	newlines := 0
	for ; i < limit; i++ {
		switch content[i] {
		case '\n':
			newlines++
			if newlines >= 2 {
				return i + 1
			}
		case ' ', '\t', '\r':
		default:
			newlines = 0
		}
	}
	if i >= len(content) {
		return len(content)
	}
	if nl := bytes.IndexByte(content[i:], '\n'); nl >= 0 {
		return i + nl + 1
	}
	return len(content)
}

// convert keeps what env-scan reports and the secret for its fingerprint;
// gitleaks' Line and Match (which hold the secret) go no further. The
// location is taken from the match's offset in the fragment: gitleaks'
// StartLine is right (1-based in a file scan), but its StartColumn counts
// the preceding newline on all but a fragment's first line, and its Line
// holds the whole fragment when the match is on a last line without a
// trailing newline.
func convert(fr sources.Fragment, f report.Finding) scan.Secret {
	s := scan.Secret{
		Rule:        f.RuleID,
		Description: f.Description,
		Line:        f.StartLine,
		Column:      f.StartColumn,
		Value:       f.Secret,
	}
	raw := fr.Raw
	if raw == "" {
		return s // a path-only rule
	}
	first := max(fr.StartLine, 1)
	idx := f.StartLine - first // 0-based line within the fragment
	lineStart := 0
	for range idx {
		nl := strings.IndexByte(raw[lineStart:], '\n')
		if nl < 0 {
			return s
		}
		lineStart += nl + 1
	}
	// gitleaks' column is relative to the newline before the line
	matchAt := lineStart + f.StartColumn - 1
	if idx > 0 {
		matchAt--
	}
	matchAt = min(max(matchAt, lineStart), len(raw))
	at := matchAt
	// gitleaks trims newlines off a match that begins with one
	p := matchAt
	for p < len(raw) && (raw[p] == '\n' || raw[p] == '\r') {
		p++
	}
	if f.Match != "" && strings.HasPrefix(raw[p:], f.Match) {
		at = p
		if i := strings.Index(f.Match, f.Secret); f.Secret != "" && i > 0 {
			at += i
		}
	} // else a decoded match: the encoded text's start is the location
	// the secret may begin on a later line than the match (a multi-line rule)
	before := raw[lineStart:at]
	line := f.StartLine
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		line += strings.Count(before, "\n")
		before = before[nl+1:]
	}
	s.Line = line
	s.Column = utf8.RuneCountInString(before) + 1
	s.Name = nameBefore(before)
	return s
}

// assignment matches the end of the text before a value that is assigned
// to a name: the identifier (quoted or not), "=", ":", ":=" or "=>", an
// opening quote, and at most one scheme word ("Bearer ", "FlyV1 ").
var assignment = regexp.MustCompile(`([\pL_][\pL\pN_.\-]*)["'\x60\]]?\s*(?::=|=>|[=:])\s*["'\x60]?(?:[A-Za-z][A-Za-z0-9]{0,15}\s+)?$`)

// nameBefore finds the identifier a value is assigned to. It is "" unless
// the text before the value ends in an assignment: never the text of a
// token (the part before a comma in a multi-part token, say).
func nameBefore(prefix string) string {
	m := assignment.FindStringSubmatch(prefix)
	if m == nil {
		return ""
	}
	name := strings.Trim(m[1], ".-")
	if name == "" || tokenLike(name) {
		return ""
	}
	return name
}

// tokenLike reports whether an identifier looks like part of a random
// token rather than a name someone wrote: too long, or a segment mixing
// letters with digits or changing case at random.
func tokenLike(name string) bool {
	if utf8.RuneCountInString(name) > 64 {
		return true
	}
	for _, seg := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '.' || r == '-' }) {
		var letters, digits, changes int
		prevUpper, first := false, true
		for _, r := range seg {
			switch {
			case unicode.IsDigit(r):
				digits++
			case unicode.IsLetter(r):
				letters++
				up := unicode.IsUpper(r)
				if !first && up != prevUpper {
					changes++
				}
				prevUpper, first = up, false
			}
		}
		n := letters + digits
		if n >= 12 && ((digits >= 2 && letters > 0) || changes*5 > n*2) {
			return true
		}
	}
	return false
}
