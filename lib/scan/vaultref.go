package scan

import "strings"

// IsVaultRef reports whether v is a vault: reference (never a finding).
func IsVaultRef(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "vault:") }
