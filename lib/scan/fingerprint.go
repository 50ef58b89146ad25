package scan

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/safefile"
)

// Keyer computes fingerprints: HMAC-SHA256 under a private key of the rule
// and the normalised secret. Line numbers are not part of it, so moving code
// keeps the fingerprint, and a different secret on the same line gets a
// different one. The key keeps a baseline file from being a list of
// unsalted hashes that could be brute-forced back to weak passwords.
type Keyer struct{ key []byte }

// KeyEnv is the environment variable that may hold the fingerprint key;
// LegacyKeyEnv is its old name, read when KeyEnv is not set.
const (
	KeyEnv       = "VAULTPIPE_SCAN_KEY"
	LegacyKeyEnv = "ENV_SCAN_KEY"
)

// errShortKey is a key too short to resist guessing.
var errShortKey = errors.New("the fingerprint key must be at least 16 bytes")

// NewKeyer uses key (at least 16 bytes).
func NewKeyer(key []byte) (*Keyer, error) {
	if len(key) < 16 {
		return nil, errShortKey
	}
	return &Keyer{key: append([]byte(nil), key...)}, nil
}

// DefaultKeyFile is where a key is created on first use when none is given:
// $XDG_CONFIG_HOME/vaultpipe/env-scan.key (or ~/.config/…).
func DefaultKeyFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory for the fingerprint key: %w", err)
	}
	return filepath.Join(dir, "vaultpipe", "env-scan.key"), nil
}

// LoadKeyFile reads a key file (its trimmed contents are the key). With
// create, a missing file is made with 32 random bytes (hex), mode 0600.
func LoadKeyFile(path string, create bool) (*Keyer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the fingerprint key: %w", err)
		}
		b = []byte(hex.EncodeToString(raw) + "\n")
		if err := safefile.Write(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("creating the fingerprint key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading the fingerprint key: %w", err)
	}
	k, err := NewKeyer([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return nil, fmt.Errorf("fingerprint key %s: %w", path, err)
	}
	return k, nil
}

// Sum returns the fingerprint of secret under rule: 32 hex digits.
func (k *Keyer) Sum(rule, secret string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(rule))
	m.Write([]byte{0})
	m.Write([]byte(Normalize(secret)))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ID names the key without revealing it, so a baseline made under another
// key is recognised instead of silently matching nothing.
func (k *Keyer) ID() string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("env-scan key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

var pemNoise = regexp.MustCompile(`\s+|\\[nr]`)

// Normalize makes equal secrets compare equal however they were written:
// surrounding blanks and quotes go, and a PEM block loses its line breaks
// (real or escaped) and indentation.
func Normalize(secret string) string {
	s := strings.TrimSpace(secret)
	for len(s) >= 2 && (s[0] == '"' || s[0] == '\'' || s[0] == '`') && s[len(s)-1] == s[0] {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if strings.Contains(s, "-----BEGIN") {
		s = pemNoise.ReplaceAllString(s, "")
	}
	return s
}
