// Package gitleaks is env-scan's hard-coded secret engine built on the
// gitleaks v8 detector, used as a library: its default rules, a
// repository's .gitleaks.toml, its allowlists and gitleaks:allow comments.
package gitleaks

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

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
	det     *detect.Detector
	buffers sync.Pool
}

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
	e := &Engine{det: det}
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

// Scan streams r through the detector in gitleaks' own fragments.
func (e *Engine) Scan(ctx context.Context, path string, r io.Reader, found func(scan.Secret)) error {
	bp := e.buffers.Get().(*[]byte)
	defer e.buffers.Put(bp)
	src := &sources.File{Content: r, Path: path, Config: &e.det.Config, Buffer: *bp}
	return src.Fragments(ctx, func(fr sources.Fragment, err error) error {
		if err != nil {
			return err
		}
		if fr.Raw == "" {
			return nil
		}
		for _, f := range e.det.DetectContext(ctx, detect.Fragment(fr)) {
			found(convert(f))
		}
		return nil
	})
}

// convert keeps what env-scan reports and the secret for its fingerprint;
// gitleaks' Line and Match (which hold the secret) go no further.
func convert(f report.Finding) scan.Secret {
	s := scan.Secret{
		Rule:        f.RuleID,
		Description: f.Description,
		Line:        f.StartLine,
		Column:      f.StartColumn,
		Value:       f.Secret,
	}
	// f.Line starts at the newline before the match on all but a
	// fragment's first line
	text := f.Line
	if strings.HasPrefix(text, "\n") {
		text = text[1:]
		if s.Column > 1 {
			s.Column--
		}
	}
	idx := -1
	if f.Secret != "" {
		idx = strings.Index(text, f.Secret)
	}
	if idx < 0 {
		return s
	}
	before := text[:idx]
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		s.Line += strings.Count(before, "\n")
		before = before[nl+1:]
	}
	s.Column = utf8.RuneCountInString(before) + 1
	s.Name = nameBefore(before)
	return s
}

// nameBefore finds the identifier a value is assigned to: the last word
// before the = or : that precedes it.
func nameBefore(prefix string) string {
	p := strings.TrimRightFunc(prefix, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'`+"`"+`=:<>,([{`, r)
	})
	if p == "" || len(p) == len(prefix) {
		// nothing separates the value from what precedes it: not an assignment
		return ""
	}
	end := len(p)
	start := end
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(p[:start])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
			break
		}
		start -= size
	}
	name := strings.Trim(p[start:end], ".-")
	if len(name) > 128 {
		return ""
	}
	return name
}
