package rotation

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/duration"
)

// Schedule says when a secret is due again after it was last rotated: a
// fixed period ("90d") or a calendar ("Sun *-*-* 03:00", "monthly").
type Schedule struct {
	Text  string
	Every time.Duration // > 0 for a period
	Cal   *Calendar     // else a calendar
}

// DueAt is when a secret last rotated at last is next due.
func (s Schedule) DueAt(last time.Time) time.Time {
	if s.Every > 0 {
		return last.Add(s.Every)
	}
	return s.Cal.Next(last)
}

// ParseDuration parses a period: a positive duration.Parse ("90d", "2w",
// "1y", "36h").
func ParseDuration(s string) (time.Duration, error) {
	d, err := duration.Parse(s)
	if err == nil && d == 0 {
		return 0, fmt.Errorf("invalid duration %q: a period must be longer than zero", strings.TrimSpace(s))
	}
	return d, err
}

// ParseSchedule parses a period or a calendar expression.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if d, err := ParseDuration(s); err == nil {
		return Schedule{Text: s, Every: d}, nil
	}
	c, err := ParseCalendar(s)
	if err != nil {
		return Schedule{}, fmt.Errorf("invalid period %q: want a duration (90d, 365d, 12h) or a calendar (daily, weekly, monthly, \"Sun *-*-* 03:00\"): %v", s, err)
	}
	return Schedule{Text: s, Cal: c}, nil
}

// Calendar is a subset of systemd.time(7) calendar events, in UTC:
// "[WEEKDAYS] [YEAR-MONTH-DAY] [HH:MM[:SS]]", each field "*", a number, a
// range "a..b", a repetition "a/step", or a comma list of those; weekdays as
// "Mon", "Mon..Fri" or "Sat,Sun". Shorthands: minutely, hourly, daily,
// weekly, monthly, quarterly, semiannually, yearly (annually).
type Calendar struct {
	weekdays                      [7]bool
	years                         func(int) bool
	months, days, hours, mins, ss []int
	text                          string
}

var calendarShorthands = map[string]string{
	"minutely":     "*-*-* *:*:00",
	"hourly":       "*-*-* *:00:00",
	"daily":        "*-*-* 00:00:00",
	"weekly":       "Mon *-*-* 00:00:00",
	"monthly":      "*-*-01 00:00:00",
	"quarterly":    "*-01,04,07,10-01 00:00:00",
	"semiannually": "*-01,07-01 00:00:00",
	"yearly":       "*-01-01 00:00:00",
	"annually":     "*-01-01 00:00:00",
}

var weekdayNames = map[string]int{
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
}

// ParseCalendar parses a calendar expression.
func ParseCalendar(s string) (*Calendar, error) {
	text := strings.TrimSpace(s)
	if exp, ok := calendarShorthands[strings.ToLower(text)]; ok {
		s = exp
	}
	fields := strings.Fields(s)
	if len(fields) > 0 && strings.EqualFold(fields[len(fields)-1], "UTC") {
		fields = fields[:len(fields)-1]
	}
	if len(fields) == 0 || len(fields) > 3 {
		return nil, errors.New("want [weekdays] [year-month-day] [hh:mm[:ss]]")
	}
	c := &Calendar{text: text}
	for i := range c.weekdays {
		c.weekdays[i] = true
	}
	if f := fields[0]; f != "" && (f[0] < '0' || f[0] > '9') && f[0] != '*' {
		wd, err := parseWeekdays(f)
		if err != nil {
			return nil, err
		}
		c.weekdays = wd
		fields = fields[1:]
	}
	date, clock := "*-*-*", "00:00:00"
	switch len(fields) {
	case 0:
	case 1:
		if strings.Contains(fields[0], ":") {
			clock = fields[0]
		} else {
			date = fields[0]
		}
	case 2:
		date, clock = fields[0], fields[1]
	default:
		return nil, errors.New("want [weekdays] [year-month-day] [hh:mm[:ss]]")
	}
	dp := strings.Split(date, "-")
	if len(dp) == 2 {
		dp = append([]string{"*"}, dp...)
	}
	if len(dp) != 3 {
		return nil, fmt.Errorf("bad date %q: want year-month-day", date)
	}
	if dp[0] == "*" {
		c.years = func(int) bool { return true }
	} else {
		ys, err := parseField(dp[0], 1970, 2199)
		if err != nil {
			return nil, fmt.Errorf("bad year: %v", err)
		}
		set := map[int]bool{}
		for _, y := range ys {
			set[y] = true
		}
		c.years = func(y int) bool { return set[y] }
	}
	var err error
	if c.months, err = parseField(dp[1], 1, 12); err != nil {
		return nil, fmt.Errorf("bad month: %v", err)
	}
	if c.days, err = parseField(dp[2], 1, 31); err != nil {
		return nil, fmt.Errorf("bad day: %v", err)
	}
	tp := strings.Split(clock, ":")
	if len(tp) == 2 {
		tp = append(tp, "00")
	}
	if len(tp) != 3 {
		return nil, fmt.Errorf("bad time %q: want hh:mm[:ss]", clock)
	}
	if c.hours, err = parseField(tp[0], 0, 23); err != nil {
		return nil, fmt.Errorf("bad hour: %v", err)
	}
	if c.mins, err = parseField(tp[1], 0, 59); err != nil {
		return nil, fmt.Errorf("bad minute: %v", err)
	}
	if c.ss, err = parseField(tp[2], 0, 59); err != nil {
		return nil, fmt.Errorf("bad second: %v", err)
	}
	return c, nil
}

func parseWeekdays(f string) ([7]bool, error) {
	var wd [7]bool
	for _, part := range strings.Split(f, ",") {
		lo, hi, isRange := strings.Cut(part, "..")
		a, ok := weekdayNames[strings.ToLower(lo)]
		if !ok {
			return wd, fmt.Errorf("unknown weekday %q", lo)
		}
		b := a
		if isRange {
			if b, ok = weekdayNames[strings.ToLower(hi)]; !ok {
				return wd, fmt.Errorf("unknown weekday %q", hi)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			wd[d] = true
			if d == b {
				break
			}
		}
	}
	return wd, nil
}

// parseField parses "*", "5", "1..5", "*/2", "1/3" or a comma list of them.
func parseField(f string, lo, hi int) ([]int, error) {
	set := map[int]bool{}
	for _, part := range strings.Split(f, ",") {
		base, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad repetition %q", part)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case base == "*":
		case strings.Contains(base, ".."):
			x, y, _ := strings.Cut(base, "..")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b, err2 = strconv.Atoi(y)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad range %q", part)
			}
		default:
			n, err := strconv.Atoi(base)
			if err != nil {
				return nil, fmt.Errorf("bad value %q", part)
			}
			a = n
			if !hasStep {
				b = n
			}
		}
		if a < lo || b > hi || a > b {
			return nil, fmt.Errorf("%q is outside %d..%d", part, lo, hi)
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	out := make([]int, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Ints(out)
	return out, nil
}

func contains(vs []int, v int) bool {
	i := sort.SearchInts(vs, v)
	return i < len(vs) && vs[i] == v
}

// Next is the first calendar time strictly after t (UTC), or the zero time
// when there is none within 10 years.
func (c *Calendar) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3660; i++ {
		d := day.AddDate(0, 0, i)
		if !c.years(d.Year()) || !contains(c.months, int(d.Month())) || !contains(c.days, d.Day()) || !c.weekdays[d.Weekday()] {
			continue
		}
		for _, h := range c.hours {
			for _, m := range c.mins {
				for _, s := range c.ss {
					cand := d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
					if cand.After(t) {
						return cand
					}
				}
			}
		}
	}
	return time.Time{}
}

// Window limits when scheduled rotations may run: on these weekdays, between
// these hours (UTC). A rotation asked for with --path runs at any time.
type Window struct {
	Weekdays [7]bool
	From, To int // minutes after midnight; To < From wraps past midnight
}

// Allows reports whether t is inside the window.
func (w *Window) Allows(t time.Time) bool {
	if w == nil {
		return true
	}
	t = t.UTC()
	if !w.Weekdays[t.Weekday()] {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if w.From <= w.To {
		return m >= w.From && m < w.To
	}
	return m >= w.From || m < w.To
}

// parseHours parses "02:00-05:00" or "2-5".
func parseHours(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("invalid hours %q: want HH:MM-HH:MM", s)
	}
	pa, err1 := parseClock(a)
	pb, err2 := parseClock(b)
	if err1 != nil || err2 != nil || pa == pb {
		return 0, 0, fmt.Errorf("invalid hours %q: want HH:MM-HH:MM", s)
	}
	return pa, pb, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	h, m, hasM := strings.Cut(s, ":")
	hv, err := strconv.Atoi(h)
	if err != nil || hv < 0 || hv > 24 {
		return 0, errors.New("bad hour")
	}
	mv := 0
	if hasM {
		if mv, err = strconv.Atoi(m); err != nil || mv < 0 || mv > 59 {
			return 0, errors.New("bad minute")
		}
	}
	if hv == 24 && mv != 0 {
		return 0, errors.New("bad time")
	}
	return hv*60 + mv, nil
}
