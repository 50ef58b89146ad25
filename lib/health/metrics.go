package health

import (
	"os"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/textfile"
	"github.com/vaultpipe/vaultpipe/lib/vaultconfig"
)

// Metric names vault-health writes for node_exporter's textfile collector.
const (
	MetricUp          = "vaultpipe_health_up"
	MetricSealed      = "vaultpipe_health_sealed"
	MetricSealedSince = "vaultpipe_health_sealed_since_timestamp_seconds"
	MetricChecked     = "vaultpipe_health_check_timestamp_seconds"
)

// SealedSince says since when the server has been sealed: the time carried
// in the previous metrics file at prev when that already said sealed, else
// now. Vault itself keeps no such time, so the metrics file is the memory;
// with vault-health.timer checking every minute, it is right to a minute.
// It is zero when the server is not sealed.
func SealedSince(r *Report, prev string, now time.Time) time.Time {
	if r.Status != Sealed {
		return time.Time{}
	}
	if v, ok := textfile.Read(prev, MetricSealedSince, "address", r.Address); ok && v > 0 {
		return time.Unix(int64(v), 0).UTC()
	}
	return now.UTC().Truncate(time.Second)
}

// Metrics returns r as textfile metrics; sealedSince is SealedSince's answer.
func Metrics(r *Report, sealedSince, now time.Time) *textfile.Set {
	var s textfile.Set
	a := []string{"address", r.Address}
	s.Gauge(MetricUp, "1 if the Vault server answered the health check.", textfile.Bool(r.Status != Unreachable), a...)
	if r.Status != Unreachable {
		s.Gauge("vaultpipe_health_initialized", "1 if the Vault server is initialised.", textfile.Bool(r.Initialized), a...)
		s.Gauge(MetricSealed, "1 if the Vault server is sealed.", textfile.Bool(r.Sealed), a...)
		s.Gauge("vaultpipe_health_standby", "1 if the Vault server is a standby node.", textfile.Bool(r.Standby || r.PerformanceStandby), a...)
	}
	var since float64
	if !sealedSince.IsZero() {
		since = float64(sealedSince.Unix())
	}
	s.Gauge(MetricSealedSince, "Since when the Vault server has been sealed, as seen by vault-health (0: not sealed).", since, a...)
	if r.Seal != nil {
		s.Gauge("vaultpipe_health_seal_info", "The seal type (shamir, transit, …) of the Vault server.", 1, "address", r.Address, "type", r.Seal.Type)
		s.Gauge("vaultpipe_health_seal_progress", "Unseal shares submitted toward the threshold.", float64(r.Seal.Progress), a...)
	}
	s.Gauge(MetricChecked, "When vault-health last checked the server.", float64(now.Unix()))
	return &s
}

// TransitHint says where to look when a server with a transit seal (as the
// Vault config at configPath declares, when this process may read it) is
// down or sealed: Vault 1.21 does not even start while its transit Vault is
// unreachable. It is "" otherwise.
func TransitHint(r *Report, configPath string) string {
	if configPath == "" || r == nil || r.Status != Unreachable && r.Status != Sealed {
		return ""
	}
	src, err := os.ReadFile(configPath)
	if err != nil {
		return ""
	}
	t, err := vaultconfig.ParseTransit(src, configPath)
	if err != nil || t == nil || t.Address == "" {
		return ""
	}
	return "the transit seal at " + t.Address + " (" + configPath + ") must answer before vault can start or unseal: check that Vault (docs/runbooks/transit-unseal.md)"
}
