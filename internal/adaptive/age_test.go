package adaptive

import (
	"testing"
	"time"
)

// slowSteady is a pace state that knows a slow provider: 8 calls in flight at a baseline of 10 s.
func slowSteady(t *testing.T, ctl Controller) State {
	t.Helper()
	s := steady(t, ctl)
	s.Baseline = 10 * time.Second
	return s
}

// agingPool is a pace pool at state s (from the controller's steady or slowSteady) with 8 calls
// sent at t0, none completed.
func agingPool(t *testing.T, state func(*testing.T, Controller) State) *Pool {
	t.Helper()
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, state(t, pace), 1, Batch{}, time.Minute)
	send(p, 8, t0)
	return p
}

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
	p := agingPool(t, slowSteady)
	// At the baseline's age nothing is known yet.
	if p.Age(t0.Add(10*time.Second)) || p.Limit() != 8 {
		t.Fatalf("limit with calls in flight for one baseline = %d, want 8 unchanged", p.Limit())
	}
	// Three baselines later, still in flight: each will take at least 30 s.
	if !p.Age(t0.Add(30 * time.Second)) {
		t.Fatalf("Age reported no change with 8 calls in flight for 3 x the baseline")
	}
	if got := p.Limit(); got >= 8 {
		t.Fatalf("limit with 8 calls in flight for 3 x the baseline = %d, want it cut below 8", got)
	}
	cut := p.Limit()
	// The cut answered those calls: their ages do not cut again.
	if p.Age(t0.Add(time.Minute)); p.Limit() != cut {
		t.Fatalf("limit after the same calls aged more = %d, want %d", p.Limit(), cut)
	}
	if p.Decisions() != 1 {
		t.Fatalf("decisions = %d, want 1 (the age cut), replayed by Apply", p.Decisions())
	}
}

// A completion reads the ages too: the one call that came back at the baseline does not keep the
// limit while the others stay in flight long past it.
func TestPoolAgeBrakesAtACompletion(t *testing.T) {
	p := agingPool(t, slowSteady)
	if got := complete(p, 1, 10*time.Second, t0, t0.Add(50*time.Second)); got >= 8 {
		t.Fatalf("limit after one call at the baseline and 7 in flight for 5 x the baseline = %d, want a cut", got)
	}
}

// Too few calls overdue say nothing: a record of its own that hangs, or the noise's slow tail.
func TestPoolAgeIgnoresFewOverdueCalls(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, slowSteady(t, pace), 1, Batch{}, time.Minute)
	send(p, overdueCalls-1, t0)
	send(p, 8-(overdueCalls-1), t0.Add(45*time.Second))
	if p.Age(t0.Add(50*time.Second)) || p.Limit() != 8 {
		t.Fatalf("limit with %d calls overdue = %d, want 8", overdueCalls-1, p.Limit())
	}
}

// Only the per-call policy brakes by age, and only when its calls are noted with Sent.
func TestPoolAgeNeedsPaceAndSent(t *testing.T) {
	knee := newController(t, PolicyKnee, nil)
	k := NewPool(knee, slowSteady(t, knee), 1, Batch{}, time.Minute)
	send(k, 8, t0)
	if k.Age(t0.Add(time.Minute)) || k.Limit() != 8 {
		t.Fatalf("knee pool limit with old calls in flight = %d, want 8 until the batch ends", k.Limit())
	}
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, slowSteady(t, pace), 1, Batch{}, time.Minute)
	for i := range 8 {
		p.Start(i + 1)
	}
	if p.Age(t0.Add(time.Minute)) || p.Limit() != 8 {
		t.Fatalf("pace pool limit without Sent = %d, want 8", p.Limit())
	}
}

// Overdue is the knee tolerance times the baseline under pace, at least overdueFloor (a fast
// provider's ages hold the invoke's own overhead), never under the batch policies.
func TestControllerOverdue(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	s := slowSteady(t, pace)
	if got, want := pace.Overdue(s), time.Duration(float64(s.Baseline)*DefaultConfig().KneeTolerance); got != want {
		t.Fatalf("pace Overdue at a 10 s baseline = %v, want %v", got, want)
	}
	if got := pace.Overdue(steady(t, pace)); got != overdueFloor {
		t.Fatalf("pace Overdue at a 200 ms baseline = %v, want the floor %v", got, overdueFloor)
	}
	if got := pace.Overdue(State{}); got != 0 {
		t.Fatalf("pace Overdue without a baseline = %v, want 0", got)
	}
	knee := newController(t, PolicyKnee, nil)
	if got := knee.Overdue(slowSteady(t, knee)); got != 0 {
		t.Fatalf("knee Overdue = %v, want 0", got)
	}
}

// A fast provider's calls brake by age only past the floor: 8 calls of a 200 ms provider in flight
// for 600 ms say nothing yet (their completions decide soon enough), for 3 s they do.
func TestPoolAgeFloor(t *testing.T) {
	p := agingPool(t, steady)
	if p.Age(t0.Add(600*time.Millisecond)) || p.Limit() != 8 {
		t.Fatalf("limit with 8 calls in flight for 600 ms = %d, want 8", p.Limit())
	}
	if !p.Age(t0.Add(3*time.Second)) || p.Limit() >= 8 {
		t.Fatalf("limit with 8 calls in flight for 3 s = %d, want a cut", p.Limit())
	}
}
