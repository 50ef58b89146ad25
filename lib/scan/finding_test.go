package scan

import (
	"slices"
	"testing"
)

func TestParseKinds(t *testing.T) {
	for in, want := range map[string][]Kind{
		"secret,dotenv":          {KindSecret, KindDotenv},
		"env_ref":                {KindEnvRef},
		"secret, dotenv,env_ref": {KindSecret, KindDotenv, KindEnvRef},
		"env_ref,env_ref":        {KindEnvRef},
	} {
		got, err := ParseKinds(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseKinds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "secrets", "secret,", "all"} {
		if _, err := ParseKinds(bad); err == nil {
			t.Errorf("ParseKinds(%q) accepted", bad)
		}
	}
}

func TestCounts(t *testing.T) {
	var fs []Finding
	add := func(k Kind, c Confidence, n int) {
		for range n {
			fs = append(fs, Finding{Kind: k, Confidence: c})
		}
	}
	add(KindEnvRef, High, 75)
	add(KindSecret, High, 3)
	add(KindDotenv, Low, 2)
	add(KindDotenv, None, 4) // --all only: not counted
	c := Count(fs)
	if got := c.String(); got != "3 secret, 2 dotenv, 75 env_ref finding(s)" {
		t.Errorf("String() = %q", got)
	}
	if n := c.Of(DefaultFailOn); n != 5 {
		t.Errorf("Of(DefaultFailOn) = %d; want 5 (env_ref does not fail by default)", n)
	}
	if got := Count(fs[:75]).String(); got != "75 env_ref finding(s)" {
		t.Errorf("String() = %q", got)
	}
}

func TestFailing(t *testing.T) {
	fs := []Finding{
		{Kind: KindEnvRef, Confidence: High},
		{Kind: KindEnvRef, Confidence: High, literal: true},
		{Kind: KindSecret, Confidence: High},
		{Kind: KindDotenv, Confidence: None},
	}
	for _, c := range []struct {
		kinds []Kind
		want  int
	}{
		{DefaultFailOn, 2},
		{[]Kind{KindEnvRef}, 2},
		{[]Kind{KindSecret, KindDotenv, KindEnvRef}, 3},
		{[]Kind{KindDotenv}, 2},
	} {
		if got := Failing(fs, c.kinds); got != c.want {
			t.Errorf("Failing(%v) = %d; want %d", c.kinds, got, c.want)
		}
	}
}
