// Package gitleaks is env-scan's hard-coded secret engine built on the
// gitleaks v8 detector, used as a library: its default rules, a
// repository's .gitleaks.toml, its allowlists and gitleaks:allow comments.
package gitleaks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/h2non/filetype"
	"github.com/mholt/archives"
	"github.com/rs/zerolog"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
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

	det *detect.Detector
	// plain shares det's rules but does not decode: it scans the fragments
	// where mayDecode says decoding would find nothing.
	plain   *detect.Detector
	buffers sync.Pool
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
	cfg, err := load(configPath)
	if err != nil {
		return nil, err
	}
	det := detect.NewDetector(cfg)
	det.MaxDecodeDepth = MaxDecodeDepth
	e := &Engine{det: det, plain: detect.NewDetector(cfg), FragmentSize: DefaultFragmentSize}
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
	viper.Reset()
	viper.SetConfigType("toml")
	if err := viper.ReadConfig(strings.NewReader(src)); err != nil {
		return config.Config{}, fmt.Errorf("parsing gitleaks config %s: %w", path, err)
	}
	var vc config.ViperConfig
	if err := viper.Unmarshal(&vc); err != nil {
		return config.Config{}, fmt.Errorf("parsing gitleaks config %s: %w", path, err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		return config.Config{}, fmt.Errorf("loading gitleaks config %s: %w", path, err)
	}
	cfg.Path = path
	return cfg, nil
}

// RuleCount returns the number of rules loaded.
func (e *Engine) RuleCount() int { return len(e.det.Config.Rules) }

// Skip applies gitleaks' global path allowlists, as its own directory walk does.
func (e *Engine) Skip(path string) bool {
	for _, a := range e.det.Config.Allowlists {
		if a.PathAllowed(path) {
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
	return src.Fragments(ctx, func(fr sources.Fragment, err error) error {
		if err != nil {
			return err
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
	line := 1
	for start := 0; start < len(content); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := fragmentEnd(content, start, e.FragmentSize)
		raw := content[start:end]
		e.detect(ctx, sources.Fragment{Raw: string(raw), FilePath: path, StartLine: line}, found)
		line += bytes.Count(raw, []byte{'\n'})
		start = end
	}
	return nil
}

func (e *Engine) detect(ctx context.Context, fr sources.Fragment, found func(scan.Secret)) {
	if fr.Raw == "" && fr.FilePath == "" {
		return
	}
	det := e.det
	if !mayDecode(fr.Raw) {
		det = e.plain
	}
	// DetectContext takes detect.Fragment until gitleaks v9; v8.30 has no
	// non-deprecated way to hand it one fragment.
	//lint:ignore SA1019 see above
	for _, f := range det.DetectContext(ctx, detect.Fragment(fr)) {
		found(convert(fr, f))
	}
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
