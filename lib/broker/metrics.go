package broker

import (
	"path/filepath"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/textfile"
)

// Outcome is one broker action on one identity, as the metrics record it.
type Outcome struct {
	Identity string // "broker" for its own token, else the role
	Action   string // renew, issue, keep
	At       time.Time
	OK       bool
	// Kind and Expiry describe a credential that lives on (the broker's
	// token, a kept secret_id file); a unit's one-login secret_id is not one.
	Kind     string // token or secret_id
	Expiry   time.Time
	UsesLeft int // 0: unlimited (no sample)
}

// Self is the identity name of the broker's own token in metrics.
const Self = "broker"

// MetricsFile is the textfile of one identity, so that broker runs for
// different roles never write the same file.
func MetricsFile(dir, identity string) string {
	if identity == Self {
		return filepath.Join(dir, "vaultpipe_broker.prom")
	}
	return filepath.Join(dir, "vaultpipe_broker_"+identity+".prom")
}

// Metric names (docs/prometheus/vaultpipe-alerts.yml alerts on them).
const (
	mSuccess     = "vaultpipe_broker_success"
	mAttempt     = "vaultpipe_broker_last_attempt_timestamp_seconds"
	mLastSuccess = "vaultpipe_broker_last_success_timestamp_seconds"
	mExpiry      = "vaultpipe_broker_credential_expiry_timestamp_seconds"
	mUsesLeft    = "vaultpipe_broker_credential_uses_left"
)

// WriteMetrics replaces the identity's textfile in dir with o. A failed
// action keeps the last success time and the credential's expiry and uses
// that the previous file recorded, so that a broker that stopped working
// still shows its credentials running out.
func WriteMetrics(dir string, o Outcome) error {
	path := MetricsFile(dir, o.Identity)
	act := []string{"identity", o.Identity, "action", o.Action}
	cred := []string{"identity", o.Identity, "kind", o.Kind}
	var s textfile.Set
	s.Gauge(mSuccess, "1 if the broker's last action on this identity succeeded, else 0.", textfile.Bool(o.OK), act...)
	s.Gauge(mAttempt, "When the broker last acted on this identity.", unix(o.At), act...)
	last := unix(o.At)
	if !o.OK {
		last, _ = textfile.Read(path, mLastSuccess, act...)
	}
	if last > 0 {
		s.Gauge(mLastSuccess, "When the broker last acted on this identity successfully.", last, act...)
	}
	if o.Kind != "" {
		exp, uses := unix(o.Expiry), float64(o.UsesLeft)
		if !o.OK {
			exp, _ = textfile.Read(path, mExpiry, cred...)
			uses, _ = textfile.Read(path, mUsesLeft, cred...)
		}
		if exp > 0 {
			s.Gauge(mExpiry, "When this identity's credential expires unless the broker renews or replaces it.", exp, cred...)
		}
		if uses > 0 {
			s.Gauge(mUsesLeft, "Logins left on this identity's secret_id (absent: unlimited).", uses, cred...)
		}
	}
	return s.WriteFile(path)
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}
