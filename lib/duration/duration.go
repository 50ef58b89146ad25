// Package duration reads the durations vaultpipe's flags and files are
// given: Go's ("36h", "90m", "1h30m") and, because rotation periods,
// retention and look-backs are counted in days, days, weeks and years
// ("90d", "2w", "1y", "1.5d"; a year is 365 days).
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration read by Parse: as a kong flag (it is an
// encoding.TextUnmarshaler) or in a struct.
type Duration time.Duration

// Max is the longest duration Parse accepts: a century, well inside what a
// time.Duration holds.
const Max = 100 * 365 * 24 * time.Hour

var dayUnits = map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}

// Parse reads s as a duration: a number with d, w or y, or anything
// time.ParseDuration reads. Negative durations and ones over Max are
// refused; zero is the caller's to refuse.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("invalid duration %q: want a value such as 90d, 2w, 12h or 30s", s)
	if s == "" {
		return 0, fmt.Errorf("empty duration: want a value such as 90d, 2w, 12h or 30s")
	}
	var d time.Duration
	if unit, ok := dayUnits[s[len(s)-1]]; ok {
		num := s[:len(s)-1]
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || strings.Trim(num, "0123456789.") != "" || v > float64(Max/unit) {
			return 0, bad
		}
		d = time.Duration(v * float64(unit))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 || d > Max {
			return 0, bad
		}
	}
	return d, nil
}

// UnmarshalText implements encoding.TextUnmarshaler with Parse.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String gives d as time.Duration writes it.
func (d Duration) String() string { return time.Duration(d).String() }
