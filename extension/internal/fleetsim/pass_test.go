package fleetsim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Calls that hang (30 s, far past the slow-call threshold) trip the reference and breakerbox before
// any of them ends: both count a slow call as it passes the threshold. A call every half second, each
// in an invocation of its own environment that lasts until the call ends.
func TestHangingCallsTripBeforeAnyEnds(t *testing.T) {
	set := DefaultSettings()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tr traffic
	for i := range 40 {
		at := start.Add(time.Duration(i) * 500 * time.Millisecond)
		tr.calls = append(tr.calls, call{env: i, inv: i, at: at, latency: 30 * time.Second, slow: true, incident: true})
		tr.invs = append(tr.invs, invocation{env: i, start: at, end: at.Add(30 * time.Second), calls: []int{i}})
	}
	evs := events(tr, set.FlushInterval, set.Policy.SlowCall)
	since := start.Add(-time.Hour)

	clk := &clock{t: start}
	ref := play(context.Background(), tr, evs, clk, newReference(set.Policy, clk, "hang", since), start)

	clk = &clock{t: start}
	f, err := newFleet(context.Background(), set, clk, 40, "hang", since, 1)
	if err != nil {
		t.Fatal(err)
	}
	box := play(context.Background(), tr, evs, clk, f, start)
	for name, p := range map[string]played{"reference": ref, "breakerbox": box} {
		if !p.tripped || p.trip >= 30*time.Second || !strings.HasPrefix(p.reason, "slow call rate") {
			t.Errorf("%s: tripped %v at %s (%s), want by the slow call rate before the first call ends (30 s)", name, p.tripped, p.trip, p.reason)
		}
		t.Logf("%s: OPEN %s after the first call: %s", name, p.trip, p.reason)
	}
}
