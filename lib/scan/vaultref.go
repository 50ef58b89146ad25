package scan

import (
	"strings"

	"github.com/vaultpipe/vaultpipe/lib/ref"
)

// IsVaultRef reports whether v is a well-formed vault: reference (never a
// finding). A malformed one may be a secret pasted in its place, so it is
// classified like any value.
func IsVaultRef(v string) bool {
	_, err := ref.Parse(strings.TrimSpace(v))
	return err == nil
}
