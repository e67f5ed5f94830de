package breaker

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// A call cancelled before the slow-call threshold counts nothing: without the cancellation it stays
// under way and counts as slow once it passes the threshold, as a hang would.
func TestCancelledCallCountsNothing(t *testing.T) {
	s, b, clk, p := closedEnv(t, "sibling")
	d := b.Acquire(ctxT(t), "sibling")
	if !d.Allowed || d.Call == "" {
		t.Fatalf("acquire %+v, want an allowed call with a name", d)
	}
	clk.Add(300 * time.Millisecond)
	b.Report(ctxT(t), "sibling", []Outcome{{Cancelled: true, Call: d.Call}})
	if n := b.Stats().CallsUnderWay; n != 0 {
		t.Fatalf("%d calls under way after the cancellation, want 0", n)
	}
	clk.Add(5 * time.Second)
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := window(t, s, "sibling", p, clk.Now()); !got.IsZero() {
		t.Fatalf("window %+v after a cancelled call, want nothing counted", got)
	}
}

// A call that ran past the threshold was counted as slow then; its cancellation afterwards takes
// nothing back and adds nothing.
func TestCancelledAfterTheThresholdStaysSlow(t *testing.T) {
	s, b, clk, p := closedEnv(t, "late")
	d := b.Acquire(ctxT(t), "late")
	clk.Add(1500 * time.Millisecond)
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	b.Report(ctxT(t), "late", []Outcome{{Cancelled: true, Call: d.Call}})
	clk.Add(5 * time.Second)
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got, want := window(t, s, "late", p, clk.Now()), (circuit.Counts{Calls: 1, Slow: 1}); got != want {
		t.Fatalf("window %+v, want %+v: the slow call counted as it passed, once", got, want)
	}
}

// A cancellation among outcomes takes only its own call: the others count as reported.
func TestCancelledBesideOutcomes(t *testing.T) {
	s, b, clk, p := closedEnv(t, "mixed")
	d1, d2 := b.Acquire(ctxT(t), "mixed"), b.Acquire(ctxT(t), "mixed")
	clk.Add(100 * time.Millisecond)
	b.Report(ctxT(t), "mixed", []Outcome{{Cancelled: true, Call: d1.Call}, {OK: false, Latency: 100 * time.Millisecond, Call: d2.Call}})
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got, want := window(t, s, "mixed", p, clk.Now()), (circuit.Counts{Calls: 1, Failures: 1}); got != want {
		t.Fatalf("window %+v, want %+v", got, want)
	}
	if n := b.Stats().CallsUnderWay; n != 0 {
		t.Fatalf("%d calls under way, want 0", n)
	}
}

// A cancelled probe gives its permit back at once: the next caller probes without waiting for the
// lease, and no trial is counted.
func TestCancelledProbeGivesThePermitBack(t *testing.T) {
	s := newStore(t)
	p := circuit.DefaultPolicy()
	p.HalfOpenProbes = 1
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1})
	b := newEnv(t, s, s, 0, p)
	d := b.Acquire(ctxT(t), "inv")
	if !d.Allowed || d.Permit == "" {
		t.Fatalf("probe: %+v", d)
	}
	other := newEnv(t, s, s, 1, p)
	if d := other.Acquire(ctxT(t), "inv"); d.Allowed {
		t.Fatalf("a second probe while the first is held: %+v", d)
	}
	b.Report(ctxT(t), "inv", []Outcome{{Cancelled: true, Permit: d.Permit}})
	c := stored(t, s, "inv")
	if c.State != circuit.HalfOpen || len(c.Probes) != 0 || c.ProbeSuccesses != 0 {
		t.Fatalf("stored %+v, want HALF_OPEN with the slot free and no trial counted", c)
	}
	other = newEnv(t, s, s, 1, p)
	if d := other.Acquire(ctxT(t), "inv"); !d.Allowed || d.Permit == "" {
		t.Fatalf("next caller: %+v, want the probe", d)
	}
}
