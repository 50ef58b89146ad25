package scan

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/vaultpipe/vaultpipe/lib/fault"
)

// LoadKey returns the fingerprint key, looked up in this order: the
// environment variable KeyEnv, keyFile when given, else DefaultKeyFile
// (created, 0600 and random, on first use). A key that is too short is a
// usage error; an unreadable key file is bad input.
func LoadKey(keyFile string) (*Keyer, error) {
	for _, env := range []string{KeyEnv, LegacyKeyEnv} {
		if k := os.Getenv(env); k != "" {
			keyer, err := NewKeyer([]byte(k))
			if err != nil {
				return nil, fault.Usagef("%s: %v", env, err)
			}
			return keyer, nil
		}
	}
	create := false
	if keyFile == "" {
		p, err := DefaultKeyFile()
		if err != nil {
			return nil, err
		}
		keyFile, create = p, true
	}
	k, err := LoadKeyFile(keyFile, create)
	if errors.Is(err, errShortKey) {
		return nil, fault.New(fault.Usage, "", "", err) // as the key in the environment
	}
	if err != nil {
		return nil, fault.New(fault.BadInput, "", "", err)
	}
	return k, nil
}

// Root is the directory whose .gitleaks.toml applies to a scan of paths:
// the directory, when exactly one is given, else ".".
func Root(paths []string) string {
	if len(paths) == 1 {
		if fi, err := os.Stat(paths[0]); err == nil && fi.IsDir() {
			return paths[0]
		}
	}
	return "."
}

// RulesFile is the gitleaks rules file of a scan: config when given, else
// the .gitleaks.toml at root when there is one, else "" (gitleaks'
// default rules).
func RulesFile(config, root string) string {
	if config != "" {
		return config
	}
	p := filepath.Join(root, ".gitleaks.toml")
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	return ""
}

// Select returns the findings at least min certain; with all, the plain
// configuration ones (confidence none) too.
func Select(findings []Finding, min Confidence, all bool) []Finding {
	var out []Finding
	for _, f := range findings {
		if !f.IsSecret() && all || f.Confidence.AtLeast(min) {
			out = append(out, f)
		}
	}
	return out
}

// Secrets counts the findings that count towards the findings exit code.
func Secrets(findings []Finding) int {
	n := 0
	for _, f := range findings {
		if f.IsSecret() {
			n++
		}
	}
	return n
}

// ScanList scans the given sources (such as StagedSources').
func (s *Scanner) ScanList(ctx context.Context, srcs []Source) *Result {
	ch := make(chan Source)
	go func() {
		defer close(ch)
		for _, src := range srcs {
			select {
			case ch <- src:
			case <-ctx.Done():
				return
			}
		}
	}()
	return s.ScanSources(ctx, ch)
}
