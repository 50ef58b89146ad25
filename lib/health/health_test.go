package health_test

import (
	"context"
	"testing"
	"time"

	"github.com/vaultpipe/vaultpipe/lib/fault"
	"github.com/vaultpipe/vaultpipe/lib/health"
	"github.com/vaultpipe/vaultpipe/lib/vaultclient"
	"github.com/vaultpipe/vaultpipe/lib/vaulttest"
)

func TestMain(m *testing.M) { vaulttest.Main(m) }

func TestWait(t *testing.T) {
	s := vaulttest.Start(t, vaulttest.Options{Sealed: true})
	ctx := context.Background()
	c, err := vaultclient.New(ctx, s.Flags(), vaultclient.Options{NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}

	// No time to wait: one check, and the report says why it is not ready.
	checks := 0
	rep, err := health.Wait(ctx, c, health.WaitOptions{Until: func(*health.Report) bool { checks++; return false }})
	if err != nil || rep.Status != health.Sealed || checks != 1 {
		t.Fatalf("Wait(For 0) on a sealed server = %+v, %v after %d checks; want sealed after 1", rep, err, checks)
	}
	if got := fault.KindOf(rep.Err(false)); got != fault.Sealed {
		t.Errorf("Err of a sealed report has kind %q; want sealed", got)
	}

	// Unsealed while Wait polls: it returns the active report.
	checks = 0
	rep, err = health.Wait(ctx, c, health.WaitOptions{For: time.Hour, Interval: time.Millisecond, Until: func(r *health.Report) bool {
		checks++
		if checks == 1 {
			if err := s.Unseal(); err != nil {
				t.Fatal(err)
			}
		}
		return r.Status == health.Active
	}})
	if err != nil || rep.Status != health.Active || checks < 2 {
		t.Fatalf("Wait while unsealing = %+v, %v after %d checks; want active after 2 or more", rep, err, checks)
	}
	if err := rep.Err(false); err != nil {
		t.Errorf("Err of an active report = %v; want nil", err)
	}

	// Stopped: unreachable, with the classified error.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	c.SetMaxRetries(0)
	rep, err = health.Wait(ctx, c, health.WaitOptions{})
	if rep.Status != health.Unreachable || fault.KindOf(err) != fault.Unreachable {
		t.Errorf("Wait on a stopped server = %+v, %v; want unreachable", rep, err)
	}
}

func TestReportErr(t *testing.T) {
	cases := []struct {
		status    health.Status
		standbyOK bool
		want      fault.Kind
	}{
		{health.Active, false, ""},
		{health.Standby, false, fault.Standby},
		{health.Standby, true, ""},
		{health.PerfStandby, false, fault.Standby},
		{health.Sealed, true, fault.Sealed},
		{health.Uninitialized, false, fault.Uninitialized},
		{health.Unreachable, false, fault.Unreachable},
	}
	for _, c := range cases {
		err := (&health.Report{Status: c.status}).Err(c.standbyOK)
		if c.want == "" && err != nil || c.want != "" && fault.KindOf(err) != c.want {
			t.Errorf("Report{%s}.Err(%v) = %v; want kind %q", c.status, c.standbyOK, err, c.want)
		}
	}
}
