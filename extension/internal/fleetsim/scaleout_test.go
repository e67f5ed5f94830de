package fleetsim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestBusyEnvironmentScalesOut: an invocation that arrives while its environment is still busy
// starts at once on another one, as Lambda routes it: a free environment that has run before, or a
// new one when none is free. It never waits for the busy one, so a provider's slow calls do not slow
// the fleet's calls down.
func TestBusyEnvironmentScalesOut(t *testing.T) {
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	// Environment 0 is invoked every 500 ms; at 100 % slow calls each invocation lasts 1.2–3 s.
	s := Shape{Name: "busy", Envs: 1, Warm: 0, Span: 10 * time.Second, Window: 10 * time.Second,
		arrivals: func(_ *rand.Rand, _ int, from, to time.Time) []arrival {
			var out []arrival
			for at := from; at.Before(to); at = at.Add(500 * time.Millisecond) {
				out = append(out, arrival{env: 0, at: at, calls: 1})
			}
			return out
		}}
	tr := layout(s, 7, start, Slow, 1)
	if len(tr.invs) != 20 {
		t.Fatalf("%d invocations, want 20", len(tr.invs))
	}
	if tr.envs < 3 || tr.envs > 7 {
		t.Fatalf("%d environments for calls of 1.2–3 s every 500 ms, want 3 to 7", tr.envs)
	}
	end := make([]time.Time, tr.envs)
	for n, inv := range tr.invs {
		want := start.Add(time.Duration(n) * 500 * time.Millisecond)
		if !inv.start.Equal(want) {
			t.Fatalf("invocation %d starts at %s, want its arrival, %s: it waited for a busy environment",
				n, inv.start.Sub(start), want.Sub(start))
		}
		if inv.start.Before(end[inv.env]) {
			t.Fatalf("invocation %d on environment %d at %s, which is busy until %s",
				n, inv.env, inv.start.Sub(start), end[inv.env].Sub(start))
		}
		for e := range inv.env { // the lowest numbered free environment takes it
			if !inv.start.Before(end[e]) {
				t.Fatalf("invocation %d went to environment %d while %d was free", n, inv.env, e)
			}
		}
		end[inv.env] = inv.end
		for _, i := range inv.calls {
			if tr.calls[i].env != inv.env || !tr.calls[i].slow {
				t.Fatalf("call %d: %+v, want a slow call on environment %d", i, tr.calls[i], inv.env)
			}
		}
	}
	// Healthy calls (20–120 ms) never find the environment busy: one environment serves them all.
	if healthy := layout(s, 7, start, Slow, 0); healthy.envs != 1 {
		t.Fatalf("healthy calls used %d environments, want 1", healthy.envs)
	}
}
