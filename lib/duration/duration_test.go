package duration_test

import (
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/duration"
)

func TestParse(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"90d": 90 * day, "365d": 365 * day, "2w": 14 * day, "1y": 365 * day, "1.5d": 36 * time.Hour,
		"0d": 0, "12h": 12 * time.Hour, "30s": 30 * time.Second, "1h30m": 90 * time.Minute,
		" 7d ": 7 * day, "36500d": duration.Max, "0s": 0,
	} {
		if got, err := duration.Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "-1s", "90x", "90", "ninety days", "1e3d", "0x10d", "36501d", "101y", "1_0d", "1 d", "NaNd", "infd", "1..2d"} {
		if got, err := duration.Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, nil error; want one", bad, got)
		}
	}
}

func TestDurationIsATextUnmarshaler(t *testing.T) {
	var d duration.Duration
	if err := d.UnmarshalText([]byte("2w")); err != nil || time.Duration(d) != 14*24*time.Hour {
		t.Errorf("UnmarshalText(2w) = %v, %v; want 336h", d, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon) = nil error; want one")
	}
}
