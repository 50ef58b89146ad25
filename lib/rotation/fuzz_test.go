package rotation

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse: any input either parses or fails with an error that names the
// file, never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`secret "a/b" { key = "k" period = "90d" }`))
	f.Add([]byte(`database "x" { db_name = "pg" username = "u" schedule = "0 3 * * 0" }`))
	f.Add([]byte(`secret "a/*" { window { hours = "2-5" weekdays = ["Mon"] } generate { length = 9 } }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		pol, err := Parse("f.hcl", src)
		if err != nil {
			if !strings.Contains(err.Error(), "f.hcl") {
				t.Fatalf("Parse error does not name the file: %v", err)
			}
			return
		}
		for _, r := range pol.Secrets {
			if r.Schedule.Every <= 0 && r.Schedule.Cal == nil {
				t.Fatalf("rule %q has no schedule", r.Path)
			}
		}
	})
}

// FuzzCalendar: a parsed calendar's next time is after the given time.
func FuzzCalendar(f *testing.F) {
	for _, s := range []string{"daily", "Mon..Fri 02:30", "*-*-01/3 4:00", "2027-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCalendar(s)
		if err != nil {
			return
		}
		from := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		if n := c.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("ParseCalendar(%q).Next = %s, not after %s", s, n, from)
		}
	})
}
