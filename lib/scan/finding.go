package scan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Kind says where a finding comes from.
type Kind string

const (
	// KindSecret is a hard-coded secret found by the Engine in any file.
	KindSecret Kind = "secret"
	// KindDotenv is an entry of a .env file whose value looks secret.
	KindDotenv Kind = "dotenv"
	// KindEnvRef is a place where code or configuration reads or sets an
	// environment variable.
	KindEnvRef Kind = "env_ref"
)

// Confidence grades how likely a finding is a real secret.
type Confidence string

const (
	High   Confidence = "high"
	Medium Confidence = "medium"
	Low    Confidence = "low"
	// None marks entries listed only with --all (plain configuration).
	None Confidence = "none"
)

// rank orders confidences; higher is more certain.
func (c Confidence) rank() int {
	switch c {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// AtLeast reports whether c is at least as certain as min.
func (c Confidence) AtLeast(min Confidence) bool { return c.rank() >= min.rank() }

// ParseConfidence accepts high, medium, low or none.
func ParseConfidence(s string) (Confidence, bool) {
	switch c := Confidence(s); c {
	case High, Medium, Low, None:
		return c, true
	}
	return "", false
}

// Finding is one reported location. Line and Column are 1-based; Column
// counts Unicode code points.
type Finding struct {
	File        string     `json:"file"`
	Line        int        `json:"line"`
	Column      int        `json:"column"`
	Kind        Kind       `json:"kind"`
	Rule        string     `json:"rule"`
	Name        string     `json:"name"`
	Confidence  Confidence `json:"confidence"`
	Fingerprint string     `json:"fingerprint"`

	// description is the rule's human description, for SARIF and tables.
	description string
	// literal marks an env_ref that sets a literal secret value (Compose
	// environment:, systemd Environment=, export): a hard-coded value.
	literal bool
}

// HardCoded reports whether the finding is a value written into the tree
// (secret, dotenv, or an env_ref that sets a literal secret value) rather
// than a read of a variable.
func (f Finding) HardCoded() bool { return f.Kind != KindEnvRef || f.literal }

// Description returns the rule's human-readable description.
func (f Finding) Description() string { return f.description }

// IsSecret reports whether the finding counts towards the findings exit code.
func (f Finding) IsSecret() bool { return f.Confidence != None }

// Sort orders findings by file, line, column and rule so reports are stable.
func Sort(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Name, b.Name),
		)
	})
}

// Kinds are all kinds, in report order.
var Kinds = []Kind{KindSecret, KindDotenv, KindEnvRef}

// DefaultFailOn are the kinds whose findings fail a scan by default:
// hard-coded values. Reads of secret variables (env_ref) are reported but
// fail only when asked (--fail-on env_ref: the "zero secrets in env-var
// patterns" gate).
var DefaultFailOn = []Kind{KindSecret, KindDotenv}

// ParseKinds parses a comma-separated list of kinds: secret, dotenv, env_ref.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for _, part := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(part))
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("unknown finding kind %q (want secret, dotenv or env_ref, comma-separated)", string(k))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Counts are reported findings (confidence above none) by kind.
type Counts map[Kind]int

// Count counts the findings that are reported as secrets, by kind.
func Count(findings []Finding) Counts {
	c := Counts{}
	for _, f := range findings {
		if f.IsSecret() {
			c[f.Kind]++
		}
	}
	return c
}

// Of sums the counts of the given kinds.
func (c Counts) Of(kinds []Kind) int {
	n := 0
	for _, k := range kinds {
		n += c[k]
	}
	return n
}

// Failing counts the reported findings that fail a scan gated on kinds: those
// of the kinds, and hard-coded values when secret or dotenv is among them.
func Failing(findings []Finding, kinds []Kind) int {
	hard := slices.Contains(kinds, KindSecret) || slices.Contains(kinds, KindDotenv)
	n := 0
	for _, f := range findings {
		if f.IsSecret() && (slices.Contains(kinds, f.Kind) || hard && f.HardCoded()) {
			n++
		}
	}
	return n
}

// String is "3 secret, 2 dotenv, 75 env_ref finding(s)", kinds without
// findings left out.
func (c Counts) String() string {
	var parts []string
	for _, k := range Kinds {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[k], k))
		}
	}
	if len(parts) == 0 {
		return "no findings"
	}
	return strings.Join(parts, ", ") + " finding(s)"
}
