package broker

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/textfile"
)

func TestFreshReplacesAheadOfExpiryAndUses(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := KeepOptions{Now: now, RenewBefore: 60 * time.Hour}
	tests := []struct {
		name string
		s    SecretIDState
		want bool
	}{
		{"just issued, unlimited", SecretIDState{ExpireTime: now.Add(72 * time.Hour)}, true},
		{"61 h left", SecretIDState{ExpireTime: now.Add(61 * time.Hour)}, true},
		{"exactly renew-before left", SecretIDState{ExpireTime: now.Add(60 * time.Hour)}, false},
		{"a day left", SecretIDState{ExpireTime: now.Add(24 * time.Hour)}, false},
		{"never expires", SecretIDState{}, true},
		{"3 uses left", SecretIDState{ExpireTime: now.Add(72 * time.Hour), UsesLeft: 3}, true},
		{"2 uses left", SecretIDState{ExpireTime: now.Add(72 * time.Hour), UsesLeft: 2}, false},
	}
	for _, tt := range tests {
		if got := fresh(&tt.s, o); got != tt.want {
			t.Errorf("fresh(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckRoleRefusesPaths(t *testing.T) {
	for _, r := range []string{"", "../rotator", "rotator/x", "Rotator", "a b", "-x"} {
		if CheckRole(r) == nil {
			t.Errorf("CheckRole(%q) = nil; want an error", r)
		}
	}
	for _, r := range []string{"rotator", "dagster-analytics", "snap_1"} {
		if err := CheckRole(r); err != nil {
			t.Errorf("CheckRole(%q) = %v; want nil", r, err)
		}
	}
}

func TestWriteMetricsKeepsLastKnownStateOnFailure(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1_800_000_000, 0)
	exp := t0.Add(72 * time.Hour)
	if err := WriteMetrics(dir, Outcome{Identity: "dagster-x", Action: "keep", At: t0, OK: true, Kind: "secret_id", Expiry: exp, UsesLeft: 5}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMetrics(dir, Outcome{Identity: "dagster-x", Action: "keep", At: t0.Add(time.Hour), OK: false, Kind: "secret_id"}); err != nil {
		t.Fatal(err)
	}
	path := MetricsFile(dir, "dagster-x")
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{mSuccess, []string{"action", "keep", "identity", "dagster-x"}, 0},
		{mAttempt, []string{"action", "keep", "identity", "dagster-x"}, float64(t0.Add(time.Hour).Unix())},
		{mLastSuccess, []string{"action", "keep", "identity", "dagster-x"}, float64(t0.Unix())},
		{mExpiry, []string{"identity", "dagster-x", "kind", "secret_id"}, float64(exp.Unix())},
		{mUsesLeft, []string{"identity", "dagster-x", "kind", "secret_id"}, 5},
	}
	for _, c := range checks {
		if got, ok := textfile.Read(path, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("after a failure, %s%v = %v (found %v); want %v", c.name, c.labels, got, ok, c.want)
		}
	}
}

func TestWriteMetricsOneFilePerIdentity(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0)
	WriteMetrics(dir, Outcome{Identity: Self, Action: "renew", At: now, OK: true, Kind: "token", Expiry: now.Add(72 * time.Hour)})
	WriteMetrics(dir, Outcome{Identity: "rotator", Action: "issue", At: now, OK: true})
	b, err := os.ReadFile(MetricsFile(dir, "rotator"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), mExpiry) || strings.Contains(string(b), `identity="broker"`) {
		t.Errorf("rotator's file = %s; want only its issue, no expiry (a one-login secret_id is not long-lived)", b)
	}
	if _, ok := textfile.Read(MetricsFile(dir, Self), mExpiry, "identity", Self, "kind", "token"); !ok {
		t.Errorf("the broker's file has no token expiry")
	}
}
