package rotation

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"1y": 365 * 24 * time.Hour, "12h": 12 * time.Hour, "30s": 30 * time.Second, "1.5d": 36 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "0d", "90x", "ninety days", "0s"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = nil error; want one", bad)
		}
	}
}

func TestCalendarNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ expr, after, want string }{
		{"daily", "2026-12-01T10:00:00Z", "2026-12-02T00:00:00Z"},
		{"weekly", "2026-12-01T10:00:00Z", "2026-12-07T00:00:00Z"}, // Monday
		{"monthly", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"quarterly", "2026-02-10T00:00:00Z", "2026-04-01T00:00:00Z"},
		{"yearly", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"Sun *-*-* 03:00", "2026-12-01T10:00:00Z", "2026-12-06T03:00:00Z"},
		{"Mon..Fri 02:30", "2026-12-04T03:00:00Z", "2026-12-07T02:30:00Z"},
		{"*-*-01,15 04:00:00", "2026-12-01T05:00:00Z", "2026-12-15T04:00:00Z"},
		{"*-02-29 00:00", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"*-*-* *:00/15:00", "2026-12-01T10:07:00Z", "2026-12-01T10:15:00Z"},
		{"2027-06-01", "2026-12-01T00:00:00Z", "2027-06-01T00:00:00Z"},
	} {
		c, err := ParseCalendar(tc.expr)
		if err != nil {
			t.Fatalf("ParseCalendar(%q): %v", tc.expr, err)
		}
		if got := c.Next(at(tc.after)); !got.Equal(at(tc.want)) {
			t.Errorf("ParseCalendar(%q).Next(%s) = %s; want %s", tc.expr, tc.after, got.Format(time.RFC3339), tc.want)
		}
	}
	for _, bad := range []string{"Funday", "*-13-01", "*-*-* 25:00", "*-*-*/0", "a b c d", "*-*-*-*"} {
		if _, err := ParseCalendar(bad); err == nil {
			t.Errorf("ParseCalendar(%q) = nil error; want one", bad)
		}
	}
}

func TestScheduleDueAt(t *testing.T) {
	last := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, _ := ParseSchedule("90d")
	if got := s.DueAt(last); !got.Equal(last.AddDate(0, 0, 90)) {
		t.Errorf("90d DueAt = %s", got)
	}
	s, _ = ParseSchedule("monthly")
	if got := s.DueAt(last); !got.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("monthly DueAt = %s", got)
	}
}

func TestWindowWrapsMidnight(t *testing.T) {
	from, to, err := parseHours("22:00-02:00")
	if err != nil {
		t.Fatal(err)
	}
	w := &Window{From: from, To: to}
	for i := range w.Weekdays {
		w.Weekdays[i] = true
	}
	for h, want := range map[int]bool{23: true, 1: true, 2: false, 12: false, 22: true} {
		if got := w.Allows(time.Date(2026, 12, 1, h, 0, 0, 0, time.UTC)); got != want {
			t.Errorf("22:00-02:00 Allows(%02d:00) = %v; want %v", h, got, want)
		}
	}
}
