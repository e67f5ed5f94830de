package adaptive

import (
	"testing"
	"time"
)

// send notes n calls sent at sent, as the ventilator does when it starts them.
func send(p *Pool, n int, sent time.Time) {
	for i := range n {
		p.Start(i + 1)
		p.Sent(sent)
	}
}

// The age brake: the provider slows down under 8 calls in flight. Before any of them completes,
// their ages past the knee tolerance over the baseline lower the pool's admission, so no call is
// admitted at a concurrency already known to be too high.
func TestPoolAgeBrakesBeforeAnyCallCompletes(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, steady(t, pace), 1, Batch{}, time.Minute)
	send(p, 8, t0)
	// At the baseline's age nothing is known yet.
	if p.Age(t0.Add(200*time.Millisecond)) || p.Limit() != 8 {
		t.Fatalf("limit with calls in flight for one baseline = %d, want 8 unchanged", p.Limit())
	}
	// Three baselines later, still in flight: each will take at least 600 ms.
	if !p.Age(t0.Add(600 * time.Millisecond)) {
		t.Fatalf("Age reported no change with 8 calls in flight for 3 x the baseline")
	}
	if got := p.Limit(); got >= 8 {
		t.Fatalf("limit with 8 calls in flight for 3 x the baseline = %d, want it cut below 8", got)
	}
	cut := p.Limit()
	// The cut answered those calls: their ages do not cut again.
	if p.Age(t0.Add(time.Second)); p.Limit() != cut {
		t.Fatalf("limit after the same calls aged more = %d, want %d", p.Limit(), cut)
	}
	if p.Decisions() != 1 {
		t.Fatalf("decisions = %d, want 1 (the age cut), replayed by Apply", p.Decisions())
	}
}

// A completion reads the ages too: the one call that came back at the baseline does not keep the
// limit while the others stay in flight long past it.
func TestPoolAgeBrakesAtACompletion(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, steady(t, pace), 1, Batch{}, time.Minute)
	send(p, 8, t0)
	if got := complete(p, 1, 200*time.Millisecond, t0, t0.Add(time.Second)); got >= 8 {
		t.Fatalf("limit after one call at the baseline and 7 in flight for 5 x the baseline = %d, want a cut", got)
	}
}

// Too few calls overdue say nothing: a record of its own that hangs, or the noise's slow tail.
func TestPoolAgeIgnoresFewOverdueCalls(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, steady(t, pace), 1, Batch{}, time.Minute)
	send(p, overdueCalls-1, t0)
	send(p, 8-(overdueCalls-1), t0.Add(900*time.Millisecond))
	if p.Age(t0.Add(time.Second)) || p.Limit() != 8 {
		t.Fatalf("limit with %d calls overdue = %d, want 8", overdueCalls-1, p.Limit())
	}
}

// Only the per-call policy brakes by age, and only when its calls are noted with Sent.
func TestPoolAgeNeedsPaceAndSent(t *testing.T) {
	knee := newController(t, PolicyKnee, nil)
	k := NewPool(knee, steady(t, knee), 1, Batch{}, time.Minute)
	send(k, 8, t0)
	if k.Age(t0.Add(time.Minute)) || k.Limit() != 8 {
		t.Fatalf("knee pool limit with old calls in flight = %d, want 8 until the batch ends", k.Limit())
	}
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, steady(t, pace), 1, Batch{}, time.Minute)
	for i := range 8 {
		p.Start(i + 1)
	}
	if p.Age(t0.Add(time.Minute)) || p.Limit() != 8 {
		t.Fatalf("pace pool limit without Sent = %d, want 8", p.Limit())
	}
}

// Overdue is the knee tolerance times the baseline under pace, never under the batch policies.
func TestControllerOverdue(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	s := steady(t, pace)
	if got, want := pace.Overdue(s), time.Duration(float64(s.Baseline)*DefaultConfig().KneeTolerance); got != want {
		t.Fatalf("pace Overdue = %v, want %v", got, want)
	}
	if got := pace.Overdue(State{}); got != 0 {
		t.Fatalf("pace Overdue without a baseline = %v, want 0", got)
	}
	knee := newController(t, PolicyKnee, nil)
	if got := knee.Overdue(steady(t, knee)); got != 0 {
		t.Fatalf("knee Overdue = %v, want 0", got)
	}
}
