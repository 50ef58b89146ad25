package install

import "testing"

func TestParseVersion(t *testing.T) {
	for out, want := range map[string]string{
		"Vault v1.21.1, built 2025-11-18T13:04:32Z\n": "1.21.1",
		"Vault v1.21.1 (abcdef), built …\n":           "1.21.1",
		"Vault v1.99.0 (stand-in)\n":                  "1.99.0",
		"Vault v1.21.1\n":                             "1.21.1",
		"OpenBao v2.7.0 (…)\n":                        "",
		"":                                            "",
	} {
		if got := parseVersion(out); got != want {
			t.Errorf("parseVersion(%q) = %q; want %q", out, got, want)
		}
	}
}
