package scan

import (
	"context"
	"io"
)

// Engine finds hard-coded secrets in file contents. The gitleaks engine
// (lib/scan/gitleaks) is the default; the interface keeps it swappable.
type Engine interface {
	// Skip reports whether the engine's own allowlist excludes path (a
	// slash-separated path relative to the scan root).
	Skip(path string) bool
	// Scan calls found for every secret in one file's content. It may be
	// called from several goroutines at once.
	Scan(ctx context.Context, path string, content []byte, found func(Secret)) error
	// ScanReader is Scan for a file too large to hold in memory.
	ScanReader(ctx context.Context, path string, r io.Reader, found func(Secret)) error
}

// Secret is one hard-coded secret reported by an Engine. Value is used
// only to compute the fingerprint and is never reported.
type Secret struct {
	Rule        string
	Description string
	// Line and Column (1-based, Column in code points) locate the secret
	// itself, not the start of the rule's match.
	Line, Column int
	// Name is the identifier the secret is assigned to, when the line
	// shows one (api_key = "…" gives api_key).
	Name  string
	Value string
}
