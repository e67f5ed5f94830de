package breaker

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// TestSettledCallsStartedKnowingTheMark: a call counts as settled when it started after this
// environment first held a copy carrying the mark, whatever its latency: a slow call that started
// before, and whose report came after the copy was read again, does not count, or the settled calls
// would hold more slow calls than the fleet made.
func TestSettledCallsStartedKnowingTheMark(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	p := circuit.DefaultPolicy()
	b := newEnv(t, s, s, 0, p, on(clk))
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Since: clk.Now().Add(-time.Hour)})
	b.Acquire(ctxT(t), "inv") // a copy without the mark, fresh for 5 s
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Version: 2, Since: clk.Now().Add(-time.Hour),
		BadSince: clk.Now(), BadUntil: clk.Now().Add(time.Minute)}) // another environment marks it
	settled := func() circuit.Counts {
		b.mu.Lock()
		defer b.mu.Unlock()
		var sum circuit.Counts
		for _, tl := range b.pending["inv"].own {
			sum = sum.Add(tl.settled)
		}
		return sum
	}
	clk.Add(8 * time.Second) // past settle (7.5 s): a time rule would count every call reported now
	// Started 4 s ago under the old copy; the report reads the mark.
	b.Report(ctxT(t), "inv", []Outcome{{OK: true, Latency: 4 * time.Second}})
	if got := settled(); !got.IsZero() {
		t.Fatalf("a slow call that started before the mark was read: settled %+v, want none", got)
	}
	clk.Add(100 * time.Millisecond)
	b.Acquire(ctxT(t), "inv")
	clk.Add(2 * time.Second)
	b.Report(ctxT(t), "inv", []Outcome{{OK: true, Latency: 1900 * time.Millisecond}, {OK: false, Latency: 10 * time.Millisecond}})
	if got := settled(); got != (circuit.Counts{Calls: 2, Failures: 1, Slow: 1}) {
		t.Fatalf("calls started after the mark was read: settled %+v, want both", got)
	}
}
