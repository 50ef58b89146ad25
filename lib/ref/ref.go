// Package ref holds the reference format that stands in a .env file for a
// value moved to Vault KV v2:
//
//	vault:<mount>/data/<path>#<key>
//
// for example vault:secret/data/app/prod#DB_PASSWORD, the field DB_PASSWORD
// of the secret app/prod in the KV v2 engine mounted at secret/. The grammar
// is in docs/references.md; dagster-vault mirrors it in Python, env-scan
// treats a value that is a reference as no secret, env-import writes them.
package ref

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prefix starts every reference.
const Prefix = "vault:"

// Ref points at one field of a KV v2 secret.
type Ref struct {
	Mount string // "secret", or several segments ("team/kv"), never containing a "data" segment
	Path  string // "app/prod"
	Key   string // "DB_PASSWORD"
}

// New returns the reference to key of path in the KV v2 engine at mount,
// after checking each part against the grammar. Leading and trailing slashes
// of mount and path are dropped.
func New(mount, path, key string) (Ref, error) {
	r := Ref{Mount: strings.Trim(mount, "/"), Path: strings.Trim(path, "/"), Key: key}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// Parse parses s. Errors say which part is wrong; since a malformed
// reference may be a secret pasted in its place, they never quote s.
func Parse(s string) (Ref, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return Ref{}, errors.New(`reference does not start with "vault:"`)
	}
	loc, key, ok := strings.Cut(rest, "#")
	if !ok {
		return Ref{}, errors.New(`reference has no "#<key>"`)
	}
	mount, path, ok := strings.Cut(loc, "/data/")
	if !ok {
		return Ref{}, errors.New(`reference has no "/data/" between mount and path`)
	}
	r := Ref{Mount: mount, Path: path, Key: key}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// IsRef reports whether s is a well-formed reference.
func IsRef(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// Validate checks r against the grammar.
func (r Ref) Validate() error {
	if err := segments(r.Mount, "mount"); err != nil {
		return err
	}
	for _, seg := range strings.Split(r.Mount, "/") {
		if seg == "data" {
			return errors.New(`reference mount has a "data" segment, which would be ambiguous`)
		}
	}
	if err := segments(r.Path, "path"); err != nil {
		return err
	}
	if !ValidKey(r.Key) {
		return errors.New("reference key is empty, has a control character, or starts or ends with whitespace")
	}
	return nil
}

// ValidKey reports whether k can be the field of a reference: any KV field
// name Vault takes — letters, digits first, spaces inside — except an empty
// one, one with a control character, or one with surrounding whitespace.
func ValidKey(k string) bool {
	if k == "" || strings.TrimSpace(k) != k || !utf8.ValidString(k) {
		return false
	}
	return !strings.ContainsFunc(k, unicode.IsControl)
}

// segments checks a mount or path: Vault takes any character in a path but
// "#" (which ends a reference's path), "?" (a query) and control characters.
func segments(s, what string) error {
	if s == "" {
		return fmt.Errorf("reference %s is empty", what)
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("reference %s has an empty, . or .. segment", what)
		}
		if strings.ContainsAny(seg, "#?") || strings.ContainsFunc(seg, unicode.IsControl) || !utf8.ValidString(seg) {
			return fmt.Errorf(`reference %s has a "#", "?" or control character`, what)
		}
	}
	return nil
}

// String returns the reference in its written form.
func (r Ref) String() string { return Prefix + r.DataPath() + "#" + r.Key }

// DataPath is the API path of the secret's data: "<mount>/data/<path>".
func (r Ref) DataPath() string { return r.Mount + "/data/" + r.Path }

// MetadataPath is the API path of the secret's metadata.
func (r Ref) MetadataPath() string { return r.Mount + "/metadata/" + r.Path }
