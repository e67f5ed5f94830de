package fleetsim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestOneEnvironmentProvesSeventyFivePercentSlowCalls is one environment at 75 % slow calls, alone,
// each invocation right after the last (about 0.65 calls a second): its own settled calls are all
// there is to decide on. A recent span of 30 calls or more is judged at
// 99 % (circuit.LongRecentZ): it trips on 23 slow calls of the last 31, after 33 calls; judged at
// 99.87 % throughout it takes 27 of 36, after 38 calls, about 8 s later.
func TestOneEnvironmentProvesSeventyFivePercentSlowCalls(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	f, err := newFleet(ctx, DefaultSettings(), clk, 1, circuitID, start.Add(-time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	play := func(c *call) bool {
		f.invoke(0)
		ok := f.acquire(0, c)
		if ok {
			clk.t = clk.t.Add(c.latency)
			f.report(0, c)
		}
		f.done(0)
		clk.t = clk.t.Add(time.Millisecond)
		return ok
	}
	for range 60 { // a healthy minute, one call a second
		play(&call{latency: 50 * time.Millisecond})
		clk.t = clk.t.Add(950 * time.Millisecond)
	}
	made := 0
	for i := range 60 { // then back to back, three in four slow
		c := &call{latency: 50 * time.Millisecond}
		if i%4 != 3 {
			c.slow, c.latency = true, 2*time.Second
		}
		if !play(c) {
			break
		}
		made++
		if trip, _ := f.tripped(); !trip.IsZero() {
			break
		}
	}
	trip, why := f.tripped()
	if trip.IsZero() {
		t.Fatalf("60 calls at 75 %% slow did not trip the circuit")
	}
	if !strings.HasPrefix(why, "slow call rate at least ") {
		t.Fatalf("tripped for %q, want the recent span's bound", why)
	}
	// Thirty settled calls, and the ones made before the environment knew the mark or within the
	// decider's lag: at 99.87 % throughout, 36 settled calls would be needed.
	if made > 34 {
		t.Fatalf("tripped after %d calls at 75 %% slow (%s), want at most 34", made, why)
	}
	t.Logf("tripped after %d calls: %s", made, why)
}
