package circuit

import (
	"testing"
	"time"
)

// sink keeps the compiler from discarding benchmark results.
var sink Result

// BenchmarkTransition is the hot path: a healthy CLOSED circuit observing a batch of mixed outcomes
// that does not trip (the extension's flush while things are fine). It must not allocate.
func BenchmarkTransition(b *testing.B) {
	p := DefaultPolicy()
	prev := with(closedV5, func(c *Circuit) { c.Policy = map[string]string{"minCalls": "10"} })
	outcomes := []Outcome{okCall(40), okCall(55), failCall("timeout"), okCall(1200), okCall(30), failCall("status 503"), okCall(80), okCall(20)}
	obs := Observation{Outcomes: outcomes, Window: Counts{Calls: 120, Failures: 20, Slow: 10}, Checked: true}
	now := t0
	if r := Observe(prev, obs, p, now); r.Transition.Happened() || r.Circuit.State != Closed {
		b.Fatalf("hot-path batch tripped: %+v", r)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = Observe(prev, obs, p, now)
	}
}

// BenchmarkTransitionTrip is a CLOSED circuit tripping on its failure rate, which formats a reason.
func BenchmarkTransitionTrip(b *testing.B) {
	p := DefaultPolicy()
	prev := closedV5
	obs := Observation{Outcomes: []Outcome{okCall(40), failCall("timeout"), failCall("timeout")}, Window: Counts{Calls: 13, Failures: 8}}
	now := t0
	if r := Observe(prev, obs, p, now); r.Circuit.State != Open {
		b.Fatalf("did not trip: %+v", r)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = Observe(prev, obs, p, now)
	}
}

// BenchmarkAcquireClosed is the question every call asks: may I call a CLOSED circuit?
func BenchmarkAcquireClosed(b *testing.B) {
	p := DefaultPolicy()
	prev := closedV5
	now := t0.Add(time.Second)
	b.ReportAllocs()
	var d Decision
	for b.Loop() {
		sink, d = Acquire(prev, "permit-1", p, now)
	}
	if !d.Allowed {
		b.Fatal("CLOSED denied")
	}
}

// TestHotPathDoesNotAllocate keeps the zero-allocation promise in the ordinary test run.
func TestHotPathDoesNotAllocate(t *testing.T) {
	p := DefaultPolicy()
	obs := Observation{Outcomes: []Outcome{okCall(40), failCall("timeout"), okCall(1200)}, Window: Counts{Calls: 120, Failures: 20}, Checked: true}
	if n := testing.AllocsPerRun(100, func() { sink = Observe(closedV5, obs, p, t0) }); n != 0 {
		t.Errorf("Observe on the hot path: %v allocs/op, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { sink, _ = Acquire(closedV5, "p", p, t0) }); n != 0 {
		t.Errorf("Acquire on a CLOSED circuit: %v allocs/op, want 0", n)
	}
}
