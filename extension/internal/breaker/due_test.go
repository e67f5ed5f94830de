package breaker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// callCounter counts every call the breaker makes to the store, by kind.
type callCounter struct {
	Store
	adds, updates, reads atomic.Int64
	// hold, when set, blocks AddCounts until it is closed or the call's context ends.
	hold chan struct{}
	// now, when set, dates every counter write into written.
	now     func() time.Time
	mu      sync.Mutex
	written []countsWritten
}

// countsWritten is one counter write: when (on the test's clock) and to which bucket.
type countsWritten struct{ at, bucket time.Time }

func (c *callCounter) AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error {
	c.adds.Add(1)
	if c.now != nil {
		c.mu.Lock()
		c.written = append(c.written, countsWritten{at: c.now(), bucket: w.Bucket})
		c.mu.Unlock()
	}
	if c.hold != nil {
		select {
		case <-c.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.Store.AddCounts(ctx, w, p)
}

func (c *callCounter) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	c.updates.Add(1)
	return c.Store.Update(ctx, id, decide)
}

func (c *callCounter) ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time, with ...store.CountsWrite) ([]circuit.BucketCounts, error) {
	c.reads.Add(1)
	return c.Store.ReadWindow(ctx, id, shards, p, now, with...)
}

func (c *callCounter) calls() int64 { return c.adds.Load() + c.updates.Load() + c.reads.Load() }

// Healthy reports of a circuit whose window holds no failure are never due: no store call at all.
func TestWriteIfDueLeavesHealthyReportsAlone(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "fine", State: circuit.Closed, Since: time.Now()})
	cs := &callCounter{Store: s}
	b := newEnv(t, cs, s, 0, circuit.DefaultPolicy())
	for range 5 {
		b.Report(ctxT(t), "fine", []Outcome{{OK: true, Latency: time.Millisecond}})
		if d := b.Due("fine"); d != StakeNone {
			t.Fatalf("healthy report due: %v", d)
		}
		if err := b.WriteIfDue(ctxT(t), "fine"); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.calls(); n != 0 {
		t.Errorf("%d store calls for healthy reports, want 0", n)
	}
}

// In an incident, one environment writes a circuit's counts at most once per flush interval,
// however many failures it reports and however often WriteIfDue and FlushIfDue run; once the
// interval has passed the next report writes everything kept. A counter item is one window bucket
// (store.CountsWrite), so a write whose calls span a bucket boundary is one ADD per bucket, made at
// once: the test pins where the clock stands in its bucket, both ways, rather than leave it to the
// wall clock (a run that started 9 s into a 10 s bucket once saw the boundary as a third write).
func TestCountsWrittenAtMostOncePerInterval(t *testing.T) {
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures, p.MinCalls = 0, 1_000_000 // never trips: every write is a plain counter write
	cases := []struct {
		name string
		// offset is where the clock starts, before the first report, from a bucket's end.
		offset time.Duration
		// buckets is how many buckets the calls kept within the interval fall into.
		buckets int64
	}{
		{name: "within one bucket", offset: p.BucketWidth(), buckets: 1},
		// The first write is 1.2s-0.9s before the boundary; the calls kept after it span it.
		{name: "across a bucket boundary", offset: 1200 * time.Millisecond, buckets: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Since: time.Now()})
			clk := newClock()
			// The next bucket's end, less the offset: never before the circuit's Since (time.Now()).
			clk.now = p.BucketStart(clk.now).Add(2 * p.BucketWidth()).Add(-tc.offset)
			cs := &callCounter{Store: s, now: clk.Now}
			b := newEnv(t, cs, s, 0, p, on(clk))
			clk.Add(900 * time.Millisecond) // FlushIfDue is due (its own interval) while the circuit is not
			for i := range 20 {
				b.Report(ctxT(t), "inv", []Outcome{{OK: i%2 == 0}, {OK: false, Err: "status 503"}})
				if err := b.WriteIfDue(ctxT(t), "inv"); err != nil {
					t.Fatal(err)
				}
				clk.Add(40 * time.Millisecond) // 20 reports in 800ms: under one interval (1s)
				if err := b.FlushIfDue(ctxT(t)); err != nil {
					t.Fatal(err)
				}
			}
			if n := cs.adds.Load(); n != 1 {
				t.Fatalf("%d counter writes in 800ms with a 1s interval, want 1", n)
			}
			if st := b.Stats(); st.OutcomesBuffered != 38 {
				t.Fatalf("buffered %d calls, want the 38 reported after the first write", st.OutcomesBuffered)
			}
			clk.Add(200 * time.Millisecond)
			if d := b.Due("inv"); d != StakeNone {
				t.Fatalf("after the interval, no report: due %v, want none (the report path holds calls by when they started)", d)
			}
			b.Report(ctxT(t), "inv", []Outcome{{OK: true}})
			if d := b.Due("inv"); d != StakeDecision {
				t.Fatalf("after the interval: due %v, want a decision", d)
			}
			if err := b.WriteIfDue(ctxT(t), "inv"); err != nil {
				t.Fatal(err)
			}
			if n, st := cs.adds.Load(), b.Stats(); n != 1+tc.buckets || st.OutcomesBuffered != 0 {
				t.Fatalf("after the interval: %d counter writes, %d calls buffered; want %d (one per bucket) and 0", n, st.OutcomesBuffered, 1+tc.buckets)
			}
			// The contract itself: writes at two instants a flush interval apart, one ADD per bucket each.
			cs.mu.Lock()
			ws := slices.Clone(cs.written)
			cs.mu.Unlock()
			seen := map[[2]time.Time]bool{}
			for i, w := range ws {
				if seen[[2]time.Time{w.at, w.bucket}] {
					t.Errorf("bucket %v written twice at %v", w.bucket, w.at)
				}
				seen[[2]time.Time{w.at, w.bucket}] = true
				if i > 0 && !w.at.Equal(ws[i-1].at) && w.at.Sub(ws[i-1].at) < time.Second {
					t.Errorf("counter writes at %v and %v: less than the 1s interval apart", ws[i-1].at, w.at)
				}
			}
			now := clk.Now()
			buckets, err := s.ReadWindow(ctxT(t), "inv", 4, p, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.SumWindow(buckets, time.Time{}, now); got.Calls != 41 || got.Failures != 30 {
				t.Errorf("window %+v, want all 41 calls and 30 failures, none lost", got)
			}
		})
	}
}

// A run of failures that reaches the threshold is not held back by the interval: the report that
// completes it trips the circuit, as in a quiet function whose failures are far apart.
func TestRunOfFailuresTripsWithinTheInterval(t *testing.T) {
	s := newStore(t)
	cs := &callCounter{Store: s}
	b := newEnv(t, cs, s, 0, circuit.DefaultPolicy(), func(o *Options) { o.FlushInterval = time.Hour })
	for i := 1; i <= 3; i++ {
		b.Report(ctxT(t), "rare", []Outcome{{OK: false, Err: "timeout"}})
		if err := b.WriteIfDue(ctxT(t), "rare"); err != nil {
			t.Fatal(err)
		}
		c, err := s.GetConsistent(ctxT(t), "rare")
		switch {
		case i == 1 && err != nil:
			t.Fatalf("first failure not written: %v", err)
		case i == 2 && cs.adds.Load() != 1:
			t.Fatalf("second failure written within the interval (%d counter writes)", cs.adds.Load())
		case i < 3 && c.State != circuit.Closed:
			t.Fatalf("after %d failures: %s", i, c.State)
		case i == 3 && (c.State != circuit.Open || !strings.HasPrefix(c.Reason, "3 consecutive failures")):
			t.Fatalf("after the third failure: %+v, want OPEN", c)
		}
	}
	// The run goes on past the threshold on an OPEN circuit: nothing more is due.
	b.Report(ctxT(t), "rare", []Outcome{{OK: false}})
	if d := b.Due("rare"); d != StakeNone {
		t.Errorf("a failure on the OPEN circuit within the interval is due: %v", d)
	}
}

// WriteIfDue waits for a flush in progress no longer than its context, and keeps what it could not
// write for the next flush.
func TestWriteIfDueGivesUpAtItsDeadline(t *testing.T) {
	s := newStore(t)
	cs := &callCounter{Store: s, hold: make(chan struct{})}
	b := newEnv(t, cs, s, 0, circuit.DefaultPolicy())
	b.Report(ctxT(t), "a", []Outcome{{OK: false}})
	flushed := make(chan error, 1)
	go func() { flushed <- b.Flush(ctxT(t)) }() // stuck in AddCounts until hold is closed
	for cs.adds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	b.Report(ctxT(t), "b", []Outcome{{OK: false}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.WriteIfDue(ctx, "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WriteIfDue behind a stuck flush: %v, want the deadline", err)
	}
	close(cs.hold)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.OutcomesBuffered != 0 {
		t.Errorf("after the next flush: %d calls still buffered", st.OutcomesBuffered)
	}
	if c := stored(t, s, "b"); c.BadUntil.IsZero() {
		t.Errorf("circuit b not marked after its failure was flushed: %+v", c)
	}
}

// lostPermitDeadline loses every permit's answer and records the deadline of the write that gives
// it back.
type lostPermitDeadline struct {
	lostPermit
	voidEnd atomic.Pointer[time.Time]
}

func (l *lostPermitDeadline) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	d, _ := ctx.Deadline()
	l.voidEnd.Store(&d)
	return l.lostPermit.Update(ctx, id, decide)
}

// Giving back a permit whose answer was lost never waits past the caller's deadline (the
// invocation's less the margin): the acquire that asked for it is answered in time.
func TestVoidingALostPermitStaysWithinTheCallersDeadline(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1})
	st := &lostPermitDeadline{lostPermit: lostPermit{s}}
	b := newEnv(t, st, s, 0, circuit.DefaultPolicy())
	if _, err := b.State(ctxT(t), "inv"); err != nil { // cached: the acquire below goes straight to the permit
		t.Fatal(err)
	}
	end := time.Now().Add(time.Second) // shorter than voidPermitTimeout
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	if d := b.Acquire(ctx, "inv"); d.Allowed {
		t.Fatalf("allowed without hearing the grant: %+v", d)
	}
	got := st.voidEnd.Load()
	if got == nil || got.After(end) {
		t.Fatalf("the permit was given back with a deadline of %v, after the caller's %v", got, end)
	}
}

// Whether a call is held back must not depend on how long it took (issue 19's false trips on make
// fleet: the calls a settled span lacked were fast ones), and one environment writes a circuit's
// counts at most once per flush interval, by the report path and the background flusher together
// (issue 18). A call started within the interval after a write is held, fast or slow, and frozen
// with the environment; at the thaw the background flusher leaves it to the invocation's report,
// which carries it and the new call in one write. While that call is under way, slow or fast, the
// background flusher writes nothing: a write then would hold a fast call behind it (frozen until the
// next thaw) while a slow one, reported past the interval, went out. On main the thaw's background
// flush wrote the held call and the next report wrote again 50 ms later.
func TestReportHoldDoesNotDependOnLatency(t *testing.T) {
	s := newStore(t)
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures, p.MinCalls = 0, 1_000_000 // never trips: every write is a plain counter write
	for _, lat := range []time.Duration{50 * time.Millisecond, p.SlowCall + 200*time.Millisecond} {
		t.Run(lat.String(), func(t *testing.T) {
			clk := newClock()
			id := "c" + lat.String()
			// The circuit's window is marked bad (settled): every call is due for writing.
			put(t, s, circuit.Circuit{ID: id, State: circuit.Closed, Since: clk.Now().Add(-time.Hour),
				BadSince: clk.Now().Add(-20 * time.Second), BadUntil: clk.Now().Add(40 * time.Second)})
			cs := &callCounter{Store: s, now: clk.Now}
			b := newEnv(t, cs, s, 0, p, on(clk))
			check := func(step string, want int) {
				t.Helper()
				if n := cs.instants(); n != want {
					t.Fatalf("%s, a call of %s: %d counter writes, want %d", step, lat, n, want)
				}
			}
			// call makes one call as the default model does: acquire, the background flusher's timer
			// (every quarter interval) while it is under way, report, the report path's write.
			call := func(step string, want int) {
				t.Helper()
				if d := b.Acquire(ctxT(t), id); !d.Allowed {
					t.Fatalf("%s: denied %+v", step, d)
				}
				before := cs.instants()
				for left := lat; left > 0; left -= 250 * time.Millisecond {
					clk.Add(min(left, 250*time.Millisecond))
					if err := b.FlushIfDue(ctxT(t)); err != nil {
						t.Fatal(err)
					}
					check(step+", under way", before)
				}
				b.Report(ctxT(t), id, []Outcome{{OK: true, Latency: lat}})
				if err := b.WriteIfDue(ctxT(t), id); err != nil {
					t.Fatal(err)
				}
				check(step, want)
			}
			b.Invoked()
			call("first call", 1)
			clk.Add(100 * time.Millisecond)
			call("a call started 0.1s after the write", 1) // held, fast or slow
			clk.Add(20 * time.Second)                      // frozen, then thawed
			b.Invoked()
			if err := b.FlushIfDue(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			check("thaw", 1) // the held call waits for this invocation's report
			clk.Add(50 * time.Millisecond)
			call("the thawed invocation's call, with the held one", 2)
			now := clk.Now()
			buckets, err := s.ReadWindow(ctxT(t), id, 4, p, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.SumWindow(buckets, time.Time{}, now); got.Calls != 3 {
				t.Errorf("window %+v, want the 3 calls", got)
			}
			assertOnePerInterval(t, cs, time.Second)
		})
	}
}

// instants counts the counter writes: the instants AddCounts was called at (one ADD per bucket
// the write's calls fall in).
func (c *callCounter) instants() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i, w := range c.written {
		if i == 0 || !w.at.Equal(c.written[i-1].at) {
			n++
		}
	}
	return n
}

// assertOnePerInterval fails when two counter writes (instants; one ADD per bucket each) are less
// than interval apart.
func assertOnePerInterval(t *testing.T, cs *callCounter, interval time.Duration) {
	t.Helper()
	cs.mu.Lock()
	ws := slices.Clone(cs.written)
	cs.mu.Unlock()
	for i := 1; i < len(ws); i++ {
		if d := ws[i].at.Sub(ws[i-1].at); d > 0 && d < interval {
			t.Errorf("counter writes at %v and %v: %v apart, less than the %v interval", ws[i-1].at, ws[i].at, d, interval)
		}
	}
}

// When no report comes, the background flusher writes what was held: a flush interval after the
// thaw when no call of the circuit is under way, and once the calls under way are reported, or at
// the next INVOKE when a call allowed was never reported (it does not wait on an event that may not
// come), and at the next INVOKE when a whole invocation went by without a report of the circuit.
func TestBackgroundFlusherWritesWhatNoReportCarries(t *testing.T) {
	s := newStore(t)
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures, p.MinCalls = 0, 1_000_000
	p.SlowCall = 10 * time.Second // the call left under way below stays below it (TestSlowCallCountsAsItPasses)
	clk := newClock()
	put(t, s, circuit.Circuit{ID: "held", State: circuit.Closed, Since: clk.Now().Add(-time.Hour),
		BadSince: clk.Now().Add(-20 * time.Second), BadUntil: clk.Now().Add(40 * time.Second)})
	cs := &callCounter{Store: s, now: clk.Now}
	b := newEnv(t, cs, s, 0, p, on(clk))
	tick := func(d time.Duration) {
		t.Helper()
		clk.Add(d)
		if err := b.FlushIfDue(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	b.Invoked()
	b.Report(ctxT(t), "held", []Outcome{{OK: true, Latency: 10 * time.Millisecond}})
	if err := b.WriteIfDue(ctxT(t), "held"); err != nil || cs.instants() != 1 {
		t.Fatalf("first report: %v, %d writes", err, cs.instants())
	}
	clk.Add(100 * time.Millisecond)
	b.Report(ctxT(t), "held", []Outcome{{OK: false, Latency: 10 * time.Millisecond}}) // held
	clk.Add(10 * time.Second)
	// An invocation that does not call the circuit: the held calls go a flush interval after the thaw.
	b.Invoked()
	tick(0)
	tick(750 * time.Millisecond)
	if n := cs.instants(); n != 1 {
		t.Fatalf("within the interval after the thaw: %d writes, want 1", n)
	}
	tick(250 * time.Millisecond)
	if n := cs.instants(); n != 2 {
		t.Fatalf("an interval after the thaw with no report: %d writes, want 2", n)
	}
	// A call allowed and never reported holds the background flusher back for its invocation only.
	b.Report(ctxT(t), "held", []Outcome{{OK: true, Latency: 10 * time.Millisecond}}) // held (0.01s after)
	if d := b.Acquire(ctxT(t), "held"); !d.Allowed {
		t.Fatalf("denied %+v", d)
	}
	tick(5 * time.Second)
	if n := cs.instants(); n != 2 {
		t.Fatalf("with a call under way: %d writes, want 2", n)
	}
	clk.Add(10 * time.Second)
	b.Invoked()
	tick(time.Second)
	if n := cs.instants(); n != 3 {
		t.Fatalf("an interval after the next thaw: %d writes, want 3", n)
	}
	// Invocations shorter than the interval that never call the circuit: its held calls are passed
	// over at one INVOKE, and written at the next.
	b.Report(ctxT(t), "held", []Outcome{{OK: false, Latency: 10 * time.Millisecond}}) // held (0.01s after)
	clk.Add(5 * time.Second)
	b.Invoked()
	tick(0)
	tick(100 * time.Millisecond) // the invocation ends, frozen
	if n := cs.instants(); n != 3 {
		t.Fatalf("the first INVOKE after a held call: %d writes, want 3 (left to its reports)", n)
	}
	clk.Add(5 * time.Second)
	b.Invoked()
	tick(0)
	if n := cs.instants(); n != 4 {
		t.Fatalf("the second INVOKE after a held call no report carried: %d writes, want 4", n)
	}
	now := clk.Now()
	buckets, err := s.ReadWindow(ctxT(t), "held", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, now); got.Calls != 4 || got.Failures != 2 {
		t.Errorf("window %+v, want the 4 calls and the 2 failures", got)
	}
	assertOnePerInterval(t, cs, time.Second)
}

// A report that writes nothing (healthy calls of a circuit this environment does not know to be
// marked) still counts as the report the INVOKE left the held calls to: at the next INVOKE they are
// left to that invocation's report again, not written by its flush with the report's call held
// behind them until the next thaw (found on make fleet, spread: a total outage took 0.8 s longer).
func TestAReportThatWritesNothingKeepsTheNextInvokeWaiting(t *testing.T) {
	s := newStore(t)
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures, p.MinCalls = 0, 1_000_000
	clk := newClock()
	put(t, s, circuit.Circuit{ID: "late", State: circuit.Closed, Since: clk.Now().Add(-time.Hour)})
	cs := &callCounter{Store: s, now: clk.Now}
	b := newEnv(t, cs, s, 0, p, on(clk))
	call := func() {
		t.Helper()
		if d := b.Acquire(ctxT(t), "late"); !d.Allowed {
			t.Fatalf("denied %+v", d)
		}
		clk.Add(20 * time.Millisecond)
		b.Report(ctxT(t), "late", []Outcome{{OK: true, Latency: 20 * time.Millisecond}})
		if err := b.WriteIfDue(ctxT(t), "late"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // two invocations while the circuit is healthy: their calls only buffer
		b.Invoked()
		if err := b.FlushIfDue(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		call()
		clk.Add(10 * time.Second)
	}
	// Another environment's failure marks the circuit; this one reads it once its copy is a TTL old.
	put(t, s, circuit.Circuit{ID: "late", State: circuit.Closed, Since: clk.Now().Add(-time.Hour), Version: 2,
		BadSince: clk.Now(), BadUntil: clk.Now().Add(time.Minute)})
	b.Invoked()
	if err := b.FlushIfDue(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := cs.instants(); n != 0 {
		t.Fatalf("the INVOKE after an invocation whose report wrote nothing: %d writes, want 0 (left to this one's report)", n)
	}
	call()
	if n := cs.instants(); n != 1 {
		t.Fatalf("after the report: %d writes, want 1", n)
	}
	now := clk.Now()
	buckets, err := s.ReadWindow(ctxT(t), "late", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, now); got.Calls != 3 {
		t.Errorf("window %+v, want the 3 calls in the one write", got)
	}
}
