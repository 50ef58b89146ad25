// Package scan finds secrets held in a source tree: hard-coded secrets (via
// a pluggable Engine, gitleaks by default), values in .env files classified
// by name and value, and places where code or configuration reads a secret
// from the environment. It also holds the keyed fingerprints, the baseline
// and the JSON lines, SARIF and table reports of env-scan.
//
// A Finding never carries a secret value: the value is only used, inside
// this package, to compute the fingerprint and is dropped right after.
package scan
