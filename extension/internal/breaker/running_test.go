package breaker

import (
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// closedEnv is one environment (default policy, on its own clock) over a fresh table holding circuit
// id, CLOSED for an hour.
func closedEnv(t *testing.T, id string, mods ...func(*Options)) (*store.Store, *Breaker, *fakeClock, circuit.Policy) {
	t.Helper()
	s := newStore(t)
	p := circuit.DefaultPolicy()
	clk := newClock()
	put(t, s, circuit.Circuit{ID: id, State: circuit.Closed, Since: clk.Now().Add(-time.Hour)})
	return s, newEnv(t, s, s, 0, p, append([]func(*Options){on(clk)}, mods...)...), clk, p
}

// window sums circuit id's window as the store holds it.
func window(t *testing.T, s *store.Store, id string, p circuit.Policy, now time.Time) circuit.Counts {
	t.Helper()
	bs, err := s.ReadWindow(ctxT(t), id, 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	var sum circuit.Counts
	for _, b := range bs {
		sum = sum.Add(b.Counts)
	}
	return sum
}

// A call under way is counted as a slow call by the first flush after it passes the threshold, not
// when it ends; its outcome then adds only a failure, if it is one, whether it names its call or not.
func TestSlowCallCountsAsItPasses(t *testing.T) {
	s, b, clk, p := closedEnv(t, "hang")
	flush := func() {
		t.Helper()
		if err := b.FlushIfDue(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	want := func(step string, c circuit.Counts) {
		t.Helper()
		if got := window(t, s, "hang", p, clk.Now()); got != c {
			t.Fatalf("%s: window %+v, want %+v", step, got, c)
		}
	}

	d := b.Acquire(ctxT(t), "hang")
	if !d.Allowed || d.Call == "" {
		t.Fatalf("acquire %+v, want an allowed call with a name", d)
	}
	clk.Add(900 * time.Millisecond)
	b.Report(ctxT(t), "hang", []Outcome{{OK: true, Latency: 5 * time.Millisecond}}) // another, fast call: no name, no match
	clk.Add(200 * time.Millisecond)
	flush()
	want("under way for 1.1 s (and the fast call with it)", circuit.Counts{Calls: 2, Slow: 1})
	if n := b.Stats().CallsUnderWay; n != 1 {
		t.Fatalf("%d calls under way, want the one not reported", n)
	}

	clk.Add(4 * time.Second)
	b.Report(ctxT(t), "hang", []Outcome{{OK: true, Latency: 5100 * time.Millisecond, Call: d.Call}})
	if st := b.Due("hang"); st != StakeNone {
		t.Fatalf("the outcome of a call judged as it passed the threshold is due for a write (%v), want nothing new", st)
	}
	flush()
	want("its outcome, ok", circuit.Counts{Calls: 2, Slow: 1})

	// Reported without its name: the call under way whose start matches is taken for it.
	d2 := b.Acquire(ctxT(t), "hang")
	clk.Add(1500 * time.Millisecond)
	flush()
	want("a second under way", circuit.Counts{Calls: 3, Slow: 2})
	clk.Add(30 * time.Second)
	b.Report(ctxT(t), "hang", []Outcome{{OK: false, Latency: 31500*time.Millisecond - 2*time.Millisecond, Err: "timeout"}})
	flush()
	want("its failure, without its name", circuit.Counts{Calls: 3, Failures: 1, Slow: 2})
	// Reported with a name this environment does not hold (a stale or mistyped one): matched by start.
	b.Acquire(ctxT(t), "hang")
	clk.Add(1500 * time.Millisecond)
	flush()
	want("a third under way", circuit.Counts{Calls: 4, Failures: 1, Slow: 3})
	clk.Add(2 * time.Second)
	b.Report(ctxT(t), "hang", []Outcome{{OK: true, Latency: 3500 * time.Millisecond, Call: "c-from-elsewhere"}})
	flush()
	want("its outcome under another name", circuit.Counts{Calls: 4, Failures: 1, Slow: 3})
	if d2.Call == "" || d2.Call == d.Call {
		t.Fatalf("call names %q and %q, want two different ones", d.Call, d2.Call)
	}
}

// A provider whose calls hang is judged on them before any of them ends: a fleet of one environment
// whose calls never come back opens the circuit by its slow call rate.
func TestHangingCallsTripBeforeTheyEnd(t *testing.T) {
	s, b, clk, _ := closedEnv(t, "hang")
	start := clk.Now()
	for i := 0; i < 200 && stored(t, s, "hang").State == circuit.Closed; i++ {
		if d := b.Acquire(ctxT(t), "hang"); !d.Allowed {
			t.Fatalf("denied while CLOSED: %+v", d)
		}
		clk.Add(250 * time.Millisecond)
		if err := b.FlushIfDue(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	c := stored(t, s, "hang")
	if c.State != circuit.Open || !strings.HasPrefix(c.Reason, "slow call rate") {
		t.Fatalf("after %s of calls that never end: %s (%s), want OPEN by the slow call rate", clk.Now().Sub(start), c.State, c.Reason)
	}
	t.Logf("OPEN %s after the first call: %s", clk.Now().Sub(start), c.Reason)
}

// AcquireBatch names no call: a batch fanned out under one answer and reported together leaves
// nothing under way, so a batch longer than the threshold is not counted as a slow call.
func TestAcquireBatchLeavesNoCallUnderWay(t *testing.T) {
	s, b, clk, p := closedEnv(t, "batch")
	d := b.AcquireBatch(ctxT(t), "batch")
	if !d.Allowed || d.Call != "" {
		t.Fatalf("AcquireBatch %+v, want allowed without a call name", d)
	}
	clk.Add(5 * time.Second)
	if err := b.FlushIfDue(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := window(t, s, "batch", p, clk.Now()); !got.IsZero() {
		t.Fatalf("window %+v after a batch under way for 5 s, want nothing counted", got)
	}
}

// The same in the default model: one invocation whose 40 calls all hang trips while it runs. The
// background flusher leaves a circuit's counts to the report that is coming while a call is under
// way; calls counted slow as they passed the threshold are not waiting for a report, so they go out
// at once, and mark the circuit for the calls made after them (without that, all 40 went out in one
// write once the last had passed the threshold, none of them made knowing the mark).
func TestHangingCallsTripWithinOneInvocation(t *testing.T) {
	s, b, clk, p := closedEnv(t, "hang", func(o *Options) { o.FlushInterval = 500 * time.Millisecond })
	b.Invoked()
	start := clk.Now()
	for i := 0; i < 400 && stored(t, s, "hang").State == circuit.Closed; i++ {
		if i < 40 {
			if d := b.Acquire(ctxT(t), "hang"); !d.Allowed {
				t.Fatalf("denied while CLOSED: %+v", d)
			}
		}
		clk.Add(100 * time.Millisecond)
		if err := b.FlushIfDue(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if c := stored(t, s, "hang"); c.State != circuit.Open {
		t.Fatalf("after %s of calls that never end: %s (%s), want OPEN; window %+v", clk.Now().Sub(start), c.State, c.Reason, window(t, s, "hang", p, clk.Now()))
	}
	t.Logf("OPEN %s after the first call", clk.Now().Sub(start))
}

// A call reported twice is not taken, the second time, for another call under way that started
// with it: that one stays under way, to be counted slow if it runs past the threshold.
func TestCallReportedTwiceTakesNoOtherCall(t *testing.T) {
	_, b, clk, _ := closedEnv(t, "twice")
	a := b.Acquire(ctxT(t), "twice")
	other := b.Acquire(ctxT(t), "twice")
	if a.Call == "" || other.Call == "" {
		t.Fatalf("acquires %+v %+v, want named calls", a, other)
	}
	clk.Add(100 * time.Millisecond)
	for range 2 {
		b.Report(ctxT(t), "twice", []Outcome{{OK: true, Latency: 100 * time.Millisecond, Call: a.Call}})
	}
	if n := b.Stats().CallsUnderWay; n != 1 {
		t.Fatalf("%d calls under way after one call was reported twice, want the other one still under way", n)
	}
	b.Report(ctxT(t), "twice", []Outcome{{OK: true, Latency: 100 * time.Millisecond, Call: other.Call}})
	if n := b.Stats().CallsUnderWay; n != 0 {
		t.Fatalf("%d calls under way after both were reported", n)
	}
}
