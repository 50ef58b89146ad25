package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/vaultpipe/vaultpipe/lib/duration"
	"github.com/vaultpipe/vaultpipe/lib/hcldiag"
)

// AppRole is one application's AppRole, declared in approles/<name>.hcl.
// Durations are whole seconds as Vault stores them; 0 means Vault's
// default (for TTLs) or unlimited (for use counts).
type AppRole struct {
	Name        string
	File        string
	Policies    []string
	TokenTTL    int
	TokenMaxTTL int
	// TokenPeriod, when positive, makes the role's tokens periodic: each
	// renewal gives them this long again, with no maximum (the broker's).
	TokenPeriod        int
	TokenNumUses       int
	TokenType          string
	SecretIDTTL        int
	SecretIDNumUses    int
	SecretIDBoundCIDRs []string
	TokenBoundCIDRs    []string

	policyPos []hcl.Pos
}

type appRoleFile struct {
	Policies           []string `hcl:"policies"`
	TokenTTL           *string  `hcl:"token_ttl,optional"`
	TokenMaxTTL        *string  `hcl:"token_max_ttl,optional"`
	TokenPeriod        *string  `hcl:"token_period,optional"`
	TokenNumUses       *int     `hcl:"token_num_uses,optional"`
	TokenType          *string  `hcl:"token_type,optional"`
	SecretIDTTL        *string  `hcl:"secret_id_ttl,optional"`
	SecretIDNumUses    *int     `hcl:"secret_id_num_uses,optional"`
	SecretIDBoundCIDRs []string `hcl:"secret_id_bound_cidrs,optional"`
	TokenBoundCIDRs    []string `hcl:"token_bound_cidrs,optional"`
}

// ParseAppRole reads one AppRole file; the role is named after the file.
func ParseAppRole(file string, src []byte) (*AppRole, error) {
	name, err := nameFromFile(file)
	if err != nil {
		return nil, err
	}
	body, err := hcldiag.Parse(file, src)
	if err != nil {
		return nil, err
	}
	var raw appRoleFile
	if diags := gohcl.DecodeBody(body, nil, &raw); diags.HasErrors() {
		return nil, hcldiag.Diagnostics(diags)
	}
	attrs := body.Attributes
	pos := func(n string) hcl.Pos {
		if a, ok := attrs[n]; ok {
			return a.SrcRange.Start
		}
		return hcl.Pos{}
	}
	a := &AppRole{Name: name, File: file, TokenType: "default"}
	if len(raw.Policies) == 0 {
		return nil, hcldiag.Errorf(file, pos("policies"), "policies: at least one policy is needed")
	}
	seen := map[string]bool{}
	for _, p := range raw.Policies {
		if seen[p] {
			return nil, hcldiag.Errorf(file, pos("policies"), "policies: %q is listed twice", p)
		}
		seen[p] = true
		if p == "root" {
			return nil, hcldiag.Errorf(file, pos("policies"), "policies: an AppRole must never carry the root policy")
		}
		a.Policies = append(a.Policies, p)
		a.policyPos = append(a.policyPos, pos("policies"))
	}
	durations := []struct {
		key string
		in  *string
		out *int
	}{
		{"token_ttl", raw.TokenTTL, &a.TokenTTL},
		{"token_max_ttl", raw.TokenMaxTTL, &a.TokenMaxTTL},
		{"token_period", raw.TokenPeriod, &a.TokenPeriod},
		{"secret_id_ttl", raw.SecretIDTTL, &a.SecretIDTTL},
	}
	for _, d := range durations {
		if d.in == nil {
			continue
		}
		secs, err := parseSeconds(*d.in)
		if err != nil {
			return nil, hcldiag.Errorf(file, pos(d.key), "%s: %v", d.key, err)
		}
		*d.out = secs
	}
	if a.TokenMaxTTL > 0 && a.TokenTTL > a.TokenMaxTTL {
		return nil, hcldiag.Errorf(file, pos("token_ttl"), "token_ttl (%ds) is longer than token_max_ttl (%ds)", a.TokenTTL, a.TokenMaxTTL)
	}
	// Vault caps a periodic token at token_max_ttl: a period is the whole
	// lifetime policy of the token, so the two never go together.
	if a.TokenPeriod > 0 && (a.TokenTTL > 0 || a.TokenMaxTTL > 0) {
		return nil, hcldiag.Errorf(file, pos("token_period"), "token_period is the token's lifetime policy on its own: drop token_ttl and token_max_ttl")
	}
	counts := []struct {
		key string
		in  *int
		out *int
	}{
		{"token_num_uses", raw.TokenNumUses, &a.TokenNumUses},
		{"secret_id_num_uses", raw.SecretIDNumUses, &a.SecretIDNumUses},
	}
	for _, c := range counts {
		if c.in == nil {
			continue
		}
		if *c.in < 0 {
			return nil, hcldiag.Errorf(file, pos(c.key), "%s: must be 0 (unlimited) or more, not %d", c.key, *c.in)
		}
		*c.out = *c.in
	}
	if raw.TokenType != nil {
		switch *raw.TokenType {
		case "default", "service", "batch":
			a.TokenType = *raw.TokenType
		default:
			return nil, hcldiag.Errorf(file, pos("token_type"), "token_type: want default, service or batch, not %q", *raw.TokenType)
		}
	}
	for _, c := range []struct {
		key string
		in  []string
		out *[]string
	}{
		{"secret_id_bound_cidrs", raw.SecretIDBoundCIDRs, &a.SecretIDBoundCIDRs},
		{"token_bound_cidrs", raw.TokenBoundCIDRs, &a.TokenBoundCIDRs},
	} {
		for _, s := range c.in {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, hcldiag.Errorf(file, pos(c.key), "%s: %q is not a CIDR block such as 127.0.0.1/32", c.key, s)
			}
			if pfx.Masked() != pfx {
				return nil, hcldiag.Errorf(file, pos(c.key), "%s: %q has host bits set; did you mean %s", c.key, s, pfx.Masked())
			}
			*c.out = append(*c.out, pfx.String())
		}
		sort.Strings(*c.out)
	}
	return a, nil
}

// parseSeconds reads "90", "90s", "15m", "24h", "720h" or "30d" as whole
// seconds.
func parseSeconds(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return n, nil
	}
	d, err := duration.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want seconds or a value such as 30m, 24h or 30d", s)
	}
	if d < 0 || d%time.Second != 0 {
		return 0, fmt.Errorf("invalid duration %q: want a whole, non-negative number of seconds", s)
	}
	return int(d / time.Second), nil
}

// roleFields are the AppRole parameters Sync manages, in the form Vault
// takes them and returns them (seconds, sorted lists).
func (a *AppRole) roleFields() map[string]any {
	pol := append([]string(nil), a.Policies...)
	sort.Strings(pol)
	return map[string]any{
		"token_policies":          pol,
		"token_ttl":               a.TokenTTL,
		"token_max_ttl":           a.TokenMaxTTL,
		"token_num_uses":          a.TokenNumUses,
		"token_type":              a.TokenType,
		"token_bound_cidrs":       nonNil(a.TokenBoundCIDRs),
		"secret_id_ttl":           a.SecretIDTTL,
		"secret_id_num_uses":      a.SecretIDNumUses,
		"secret_id_bound_cidrs":   nonNil(a.SecretIDBoundCIDRs),
		"bind_secret_id":          true,
		"token_no_default_policy": false,
		"token_period":            a.TokenPeriod,
		"token_explicit_max_ttl":  0,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// canonical renders a value read from Vault or built by roleFields the same
// way, so the two compare equal when Vault holds what the file says.
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []string:
		s := make([]string, 0, len(x))
		for _, e := range x {
			s = append(s, hostPrefix(e))
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	case []any:
		s := make([]string, 0, len(x))
		for _, e := range x {
			s = append(s, hostPrefix(fmt.Sprint(e)))
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// hostPrefix writes a bare address as a one-host prefix: Vault reads
// token_bound_cidrs back as "127.0.0.1" where the file says "127.0.0.1/32".
func hostPrefix(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	return s
}
