package breaker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestStateAndList(t *testing.T) {
	s := newStore(t)
	since := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	put(t, s, circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: since, Reason: "created"})
	put(t, s, circuit.Circuit{ID: "payments", State: circuit.Open, Since: since, RetryAt: since.Add(time.Hour), Reason: "failure rate"})
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy())

	v, err := b.State(ctxT(t), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "inventory" || v.State != circuit.Closed || !v.Allowed || !v.Since.Equal(since) || v.Version != 1 || v.Stale {
		t.Errorf("view = %+v", v)
	}
	if _, err := b.State(ctxT(t), "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown circuit: err = %v, want ErrNotFound", err)
	}
	if _, err := b.State(ctxT(t), "payments"); err != nil {
		t.Fatal(err)
	}
	got := b.List(ctxT(t))
	if len(got) != 2 || got[0].ID != "inventory" || got[1].ID != "payments" || got[1].Allowed || !got[1].RetryAt.Equal(since.Add(time.Hour)) {
		t.Errorf("list = %+v, want inventory then payments (OPEN, not allowed)", got)
	}
}

func TestAcquireFromTheCacheInClosedAndOpen(t *testing.T) {
	s := newStore(t)
	retry := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	put(t, s, circuit.Circuit{ID: "up", State: circuit.Closed, Since: time.Now()})
	put(t, s, circuit.Circuit{ID: "down", State: circuit.Open, Since: time.Now(), RetryAt: retry, Reason: "failure rate 80% ≥ 50% over 10 calls"})
	put(t, s, circuit.Circuit{ID: "pinned", State: circuit.Open, Override: circuit.ForcedOpen, Since: time.Now()})
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy())
	if err := b.Cache().Prefetch(ctxT(t), []string{"up", "down", "pinned"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if d := b.Acquire(ctxT(t), "up"); !d.Allowed || d.Permit != "" || d.State != "CLOSED" {
			t.Fatalf("CLOSED: %+v", d)
		}
		if d := b.Acquire(ctxT(t), "down"); d.Allowed || !d.RetryAt.Equal(retry) || d.State != "OPEN" || !strings.Contains(d.Reason, "failure rate") {
			t.Fatalf("OPEN: %+v", d)
		}
		if d := b.Acquire(ctxT(t), "pinned"); d.Allowed || d.Override != circuit.ForcedOpen {
			t.Fatalf("FORCED_OPEN: %+v", d)
		}
	}
	st := b.Stats()
	if st.StoreReads != 3 || st.StoreWrites != 0 || st.CacheHits != 9 || st.AcquireAllowed != 3 || st.AcquireDenied != 6 {
		t.Errorf("stats = %+v, want 9 cache hits and no store call beyond the prefetch", st)
	}
}

func TestAcquireUnknownFollowsTheFailModeAndCreatesNothing(t *testing.T) {
	s := newStore(t)
	for _, open := range []bool{true, false} {
		b := newEnv(t, s, s, 0, circuit.DefaultPolicy(), func(o *Options) { o.FailOpen = open })
		d := b.Acquire(ctxT(t), "nobody")
		if d.Allowed != open || d.State != Unknown || !strings.Contains(d.Reason, "fail mode") {
			t.Errorf("fail open %v: %+v", open, d)
		}
	}
	if _, err := s.Get(ctxT(t), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("acquire created the circuit: %v", err)
	}
}

// Two environments race for the one probe of a circuit whose open time is over: the conditional write
// elects one; the other is denied and, once it has seen the leased slot, denies from its cache.
func TestHalfOpenElectionAcrossEnvironments(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Open, Since: time.Now().Add(-time.Minute), RetryAt: time.Now().Add(-time.Second), OpenCount: 1})
	p := circuit.DefaultPolicy()
	envs := []*Breaker{newEnv(t, s, s, 0, p), newEnv(t, s, s, 1, p), newEnv(t, s, s, 2, p)}
	var wg sync.WaitGroup
	ds := make([]Decision, len(envs))
	for i, b := range envs {
		wg.Go(func() { ds[i] = b.Acquire(ctxT(t), "inv") })
	}
	wg.Wait()
	winners := 0
	for _, d := range ds {
		if d.Allowed {
			winners++
			if d.Permit == "" {
				t.Errorf("allowed without a permit: %+v", d)
			}
		}
	}
	if winners != 1 {
		t.Fatalf("%d environments got a permit, want exactly 1: %+v", winners, ds)
	}
	c := stored(t, s, "inv")
	if c.State != circuit.HalfOpen || len(c.Probes) != 1 {
		t.Fatalf("stored circuit %+v, want HALF_OPEN with one probe", c)
	}
	for _, b := range envs {
		before := b.Stats().StoreWrites
		if d := b.Acquire(ctxT(t), "inv"); d.Allowed || d.RetryAt.IsZero() {
			t.Errorf("second acquire: %+v, want denied until the lease ends", d)
		}
		if b.Stats().StoreWrites != before {
			t.Errorf("a denied acquire in a full HALF_OPEN wrote to the store")
		}
	}
}

// Probe successes reported with their permits close the circuit (success threshold 2).
func TestPermitOutcomesSettleTheTrial(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1})
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy())
	for i := range 2 {
		d := b.Acquire(ctxT(t), "inv")
		if !d.Allowed || d.Permit == "" {
			t.Fatalf("probe %d: %+v", i, d)
		}
		b.Report(ctxT(t), "inv", []Outcome{{OK: true, Latency: 20 * time.Millisecond, Permit: d.Permit}})
	}
	c := stored(t, s, "inv")
	if c.State != circuit.Closed || c.Reason != "2 successful probes" {
		t.Fatalf("stored %+v, want CLOSED after 2 successful probes", c)
	}
	if d := b.Acquire(ctxT(t), "inv"); !d.Allowed || d.Permit != "" {
		t.Errorf("after closing: %+v, want allowed from the cache", d)
	}
}

func TestFailedProbeReopensWithBackoff(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1})
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy())
	d := b.Acquire(ctxT(t), "inv")
	b.Report(ctxT(t), "inv", []Outcome{{OK: false, Latency: time.Second, Permit: d.Permit, Err: "status 503"}})
	c := stored(t, s, "inv")
	if c.State != circuit.Open || c.OpenCount != 2 || !strings.Contains(c.Reason, "probe failed (status 503)") {
		t.Fatalf("stored %+v, want OPEN (second open) after the failed probe", c)
	}
	if d := b.Acquire(ctxT(t), "inv"); d.Allowed {
		t.Errorf("after the failed probe: %+v", d)
	}
}

// Failures seen by two environments, each below the minimum calls, trip the circuit through the
// calls summed over their shards, once the fleet's window has settled (every environment has had
// the time to see the bad-window mark and flush its successes): ten failures in ten settled calls
// prove the rate above 50 % (the recent-span rule). The calls before the mark settled are not
// complete, so 6 failures in 10 there trip nothing.
func TestFailureRateTripsAcrossShards(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures = 0
	// A circuit that closed a moment ago: its window holds only the calls since, as the reference's
	// does, so the settled calls are nearly all of it (TestFleetWindowRatesTheWholeWindow has the
	// healthy minute before an incident).
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Since: clk.Now().Add(-time.Second), Reason: "2 successful probes"})
	a, b := newEnv(t, s, s, 0, p, on(clk)), newEnv(t, s, s, 1, p, on(clk))
	report := func(e *Breaker, ok, fail int) {
		var outs []Outcome
		for range ok {
			outs = append(outs, Outcome{OK: true, Latency: 10 * time.Millisecond})
		}
		for range fail {
			outs = append(outs, Outcome{OK: false, Latency: 10 * time.Millisecond})
		}
		e.Report(ctxT(t), "inv", outs)
		if err := e.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	report(a, 2, 3)
	c := stored(t, s, "inv")
	if c.State != circuit.Closed || c.Version != 2 || !c.BadSince.Equal(clk.Now()) || !c.BadUntil.Equal(clk.Now().Add(p.Window)) {
		t.Fatalf("after 5 calls: %+v, want CLOSED with the window marked bad", c)
	}
	report(b, 2, 3)
	if c := stored(t, s, "inv"); c.State != circuit.Closed || c.Version != 2 {
		t.Fatalf("10 calls, 6 failed, before the fleet's window settled: %+v, want CLOSED and the mark left alone", c)
	}
	// Past the settle time and into the next bucket: every environment has flushed what it holds.
	clk.Add(b.opt.Settle + p.BucketWidth())
	report(a, 0, 5)
	report(b, 0, 5)
	// The settled calls have covered more than settle: the window read decides (b's calls, and a's
	// but those of its last moments), at once or once a's latest calls are older than the lag.
	clk.Add(a.opt.WindowTTL)                      // a's calls are older than the lag, and its window copy is read again
	if err := a.FlushIfDue(ctxT(t)); err != nil { // the decision owed since the rates were at the threshold
		t.Fatal(err)
	}
	c = stored(t, s, "inv")
	if c.State != circuit.Open || !strings.HasPrefix(c.Reason, "failure rate at least 53% ≥ 50% (10 of the last 10 calls failed)") {
		t.Fatalf("after 10 settled calls, all failed, over two shards: %+v", c)
	}
	if e, _ := a.Cache().Peek("inv"); e.Circuit.State != circuit.Open {
		t.Errorf("the deciding environment's cache shows %s", e.Circuit.State)
	}
	if st := b.Stats(); st.StoreWrites < 1 || st.Transitions != 0 {
		t.Errorf("environment b: %+v, want its ADDs (two, or one when a tripped before b's second flush) and no transition", st)
	}
}

// TestTwoEnvironmentsDecideAsTheFleet is issue 12's case: A's 200 successes, then B's 5 failures in
// 10 calls. A sees the mark B sets and flushes its successes; the circuit never leaves CLOSED while
// both keep being invoked. B alone with 8 failures in 10 trips.
func TestTwoEnvironmentsDecideAsTheFleet(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	p := circuit.DefaultPolicy()
	a, b := newEnv(t, s, s, 0, p, on(clk)), newEnv(t, s, s, 1, p, on(clk))
	// calls returns ok+fail outcomes with the failures spread out (in a row only when they must be).
	calls := func(ok, fail int) []Outcome {
		outs := make([]Outcome, ok+fail)
		for i := range outs {
			outs[i] = Outcome{OK: true, Latency: time.Millisecond}
		}
		for i := 0; i < fail; i++ {
			outs[(i*(ok+fail))/fail].OK = false
		}
		return outs
	}
	invoke := func(e *Breaker, id string, outs []Outcome) {
		t.Helper()
		e.Acquire(ctxT(t), id)
		e.Report(ctxT(t), id, outs)
		if err := e.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		invoke(a, "pay", calls(10, 0))
	}
	if st := a.Stats(); st.StoreWrites != 0 {
		t.Fatalf("A's healthy calls cost %d writes", st.StoreWrites)
	}
	for step := range 12 { // two minutes, both invoked every 10s
		invoke(b, "pay", calls(5, 5))
		invoke(a, "pay", calls(20, 0))
		if c, err := s.GetConsistent(ctxT(t), "pay"); err == nil && c.State != circuit.Closed {
			t.Fatalf("step %d: %s (%s); the fleet's rate is far below 50 %%", step, c.State, c.Reason)
		}
		clk.Add(10 * time.Second)
	}
	if st := a.Stats(); st.StoreWrites == 0 {
		t.Fatal("A never flushed its successes while the window was marked bad")
	}

	// B alone, 8 failures in 10, no other traffic: trips once the window settled.
	clk.Add(10 * time.Minute)
	put(t, s, circuit.Circuit{ID: "solo", State: circuit.Closed, Since: clk.Now().Add(-time.Hour)})
	for i := 0; i < 6 && stored(t, s, "solo").State == circuit.Closed; i++ {
		invoke(b, "solo", calls(2, 8))
		clk.Add(10 * time.Second)
	}
	// The minute before B's calls was healthy, so the rate reaches 50 % once most of the window is
	// B's: a window or so of B's calls, as for one process seeing them all.
	if c := stored(t, s, "solo"); c.State != circuit.Open || !strings.HasPrefix(c.Reason, "failure rate ") {
		t.Fatalf("B alone, 8 failures in 10: %+v, want OPEN", c)
	}
}

func TestSlowCallRateTrips(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	p := circuit.DefaultPolicy()
	p.SlowCall = 100 * time.Millisecond
	b := newEnv(t, s, s, 0, p, on(clk))
	var outs []Outcome
	for i := range 10 {
		outs = append(outs, Outcome{OK: true, Latency: time.Duration(50+100*min(i%10/3, 1)) * time.Millisecond}) // 7 in 10 slow
	}
	b.Report(ctxT(t), "slow", outs)
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, s, "slow"); c.State != circuit.Closed || c.BadSince.IsZero() {
		t.Fatalf("stored %+v, want created CLOSED with the window marked bad", c)
	}
	// The rate counts the whole window, healthy before the mark: it crosses 50 % as the slow calls
	// fill the window.
	for i := 0; i < circuit.Buckets+1 && stored(t, s, "slow").State == circuit.Closed; i++ {
		clk.Add(p.BucketWidth())
		b.Acquire(ctxT(t), "slow")
		b.Report(ctxT(t), "slow", outs)
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	c := stored(t, s, "slow")
	if c.State != circuit.Open || !strings.HasPrefix(c.Reason, "slow call rate ") {
		t.Fatalf("stored %+v, want OPEN by slow call rate", c)
	}
}

func TestConsecutiveFailuresOfOneEnvironmentTrip(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Since: time.Now()})
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy())
	b.Report(ctxT(t), "inv", []Outcome{{OK: false}, {OK: false}})
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, s, "inv"); c.State != circuit.Closed || c.Version != 2 || c.ConsecutiveFailures != 0 {
		t.Fatalf("after 2 failures: %+v, want CLOSED with only the mark written (the run is the environment's own)", c)
	}
	b.Report(ctxT(t), "inv", []Outcome{{OK: false}, {OK: true}})
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, s, "inv"); c.State != circuit.Open || !strings.HasPrefix(c.Reason, "3 consecutive failures") {
		t.Fatalf("after a run of 3 failures across two flushes: %+v", c)
	}
}

// TestOldFailuresAreStillJudged (issue 11): failures reported minutes apart, each left buffered
// past the window (as in an environment frozen between rare invocations), still make a run.
func TestOldFailuresAreStillJudged(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy(), on(clk))
	for i := range 3 {
		b.Report(ctxT(t), "rare", []Outcome{{OK: false, Err: "timeout"}})
		clk.Add(2 * time.Minute) // frozen until the next invocation, which flushes first
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if c, err := s.GetConsistent(ctxT(t), "rare"); i < 2 && err == nil && c.State != circuit.Closed {
			t.Fatalf("after %d failures: %s", i+1, c.State)
		}
	}
	if c := stored(t, s, "rare"); c.State != circuit.Open || !strings.HasPrefix(c.Reason, "3 consecutive failures") {
		t.Fatalf("three failures two minutes apart: %+v, want OPEN", c)
	}
}

func TestHealthyTrafficWritesNothing(t *testing.T) {
	s := newStore(t)
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy())
	for range 5 {
		b.Report(ctxT(t), "fine", []Outcome{{OK: true, Latency: time.Millisecond}, {OK: true, Latency: 2 * time.Millisecond}})
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	st := b.Stats()
	if st.StoreWrites != 0 || st.WindowReads != 0 || st.OutcomesReceived != 10 || st.OutcomesBuffered != 10 {
		t.Errorf("stats = %+v, want no store traffic and 10 calls buffered", st)
	}
	if _, err := s.Get(ctxT(t), "fine"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("healthy outcomes created the circuit: %v", err)
	}
}

// failingAdds fails AddCounts while fail is set.
type failingAdds struct {
	*store.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingAdds) AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("dynamodb: connection refused")
	}
	return f.Store.AddCounts(ctx, w, p)
}

func TestFailedFlushKeepsItsCounts(t *testing.T) {
	s := newStore(t)
	fs := &failingAdds{Store: s, fail: true}
	p := circuit.DefaultPolicy()
	b := newEnv(t, fs, s, 2, p)
	b.Report(ctxT(t), "inv", []Outcome{{OK: false}, {OK: true}, {OK: true}})
	if err := b.Flush(ctxT(t)); err == nil {
		t.Fatal("flush succeeded with the store refusing writes")
	}
	if st := b.Stats(); st.OutcomesBuffered != 3 || st.FlushErrors != 1 {
		t.Fatalf("after the failed flush: %+v, want the 3 calls still buffered", st)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	buckets, err := s.ReadWindow(ctxT(t), "inv", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, now); got != (circuit.Counts{Calls: 3, Failures: 1}) {
		t.Errorf("window after the second flush = %+v, want 3 calls, 1 failure", got)
	}
	if st := b.Stats(); st.OutcomesBuffered != 0 {
		t.Errorf("still buffered after a good flush: %+v", st)
	}
}

func TestFlushIfDueWaitsForTheInterval(t *testing.T) {
	s := newStore(t)
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy(), func(o *Options) { o.FlushInterval = time.Hour })
	b.Report(ctxT(t), "inv", []Outcome{{OK: false}})
	if err := b.FlushIfDue(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Flushes != 0 || st.OutcomesBuffered != 1 {
		t.Errorf("flushed before the interval: %+v", st)
	}
}

var _ cache.Reader = (*store.Store)(nil)

// countingStore counts AcquireProbe calls.
type countingStore struct {
	*store.Store
	probes atomic.Int64
}

func (c *countingStore) AcquireProbe(ctx context.Context, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error) {
	c.probes.Add(1)
	return c.Store.AcquireProbe(ctx, id, permit, base, now)
}

// Many concurrent acquires in one environment at retryAt make one conditional write between them.
func TestConcurrentAcquiresShareOnePermitAttempt(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Open, Since: time.Now().Add(-time.Minute), RetryAt: time.Now().Add(-time.Second), OpenCount: 1})
	cs := &countingStore{Store: s}
	b := newEnv(t, cs, s, 0, circuit.DefaultPolicy())
	if err := b.Cache().Prefetch(ctxT(t), []string{"inv"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for range 20 {
		wg.Go(func() {
			if d := b.Acquire(ctxT(t), "inv"); d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 1 || cs.probes.Load() != 1 {
		t.Errorf("%d allowed after %d permit attempts, want 1 and 1", allowed.Load(), cs.probes.Load())
	}
}

// blockedUpdate holds the first Update until release is closed, then fails it.
type blockedUpdate struct {
	*store.Store
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (f *blockedUpdate) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	first := false
	f.once.Do(func() { first = true })
	if first {
		close(f.entered)
		<-f.release
		return circuit.Result{}, errors.New("dynamodb: connection refused")
	}
	return f.Store.Update(ctx, id, decide)
}

// A trial whose write fails is kept even when a flush took the circuit's (count-less, HALF_OPEN)
// buffer out while the write was in flight: the next flush settles it.
func TestFailedTrialKeptAcrossAConcurrentFlush(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1})
	fs := &blockedUpdate{Store: s, entered: make(chan struct{}), release: make(chan struct{})}
	p := circuit.DefaultPolicy()
	p.SuccessThreshold = 1
	b := newEnv(t, fs, s, 0, p)
	d := b.Acquire(ctxT(t), "inv")
	if !d.Allowed || d.Permit == "" {
		t.Fatalf("acquire: %+v, want a permit", d)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Report(ctxT(t), "inv", []Outcome{{OK: true, Latency: 20 * time.Millisecond, Permit: d.Permit}})
	}()
	<-fs.entered
	if err := b.Flush(ctxT(t)); err != nil { // takes the HALF_OPEN buffer, which holds no counts
		t.Fatal(err)
	}
	close(fs.release)
	<-done
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	if c := stored(t, s, "inv"); c.State != circuit.Closed {
		t.Fatalf("stored %+v, want CLOSED: the failed trial was lost", c)
	}
}

// lostAnswers performs AddCounts but answers with an error the first n times, as a write whose
// answer was lost (a timeout, or a flush cut short by a freeze after its write landed).
type lostAnswers struct {
	*store.Store
	mu   sync.Mutex
	lose int
}

func (l *lostAnswers) AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error {
	if err := l.Store.AddCounts(ctx, w, p); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lose > 0 {
		l.lose--
		return context.DeadlineExceeded
	}
	return nil
}

// TestLostFlushAnswerCountsOnce: a flush whose write landed but whose answer was lost keeps the
// write and retries it as it was; the store counts it once, and later calls are still counted.
func TestLostFlushAnswerCountsOnce(t *testing.T) {
	s := newStore(t)
	ls := &lostAnswers{Store: s, lose: 1}
	clk := newClock()
	p := circuit.DefaultPolicy()
	b := newEnv(t, ls, s, 1, p, on(clk))
	b.Report(ctxT(t), "inv", []Outcome{{OK: false}, {OK: true}, {OK: true}})
	if err := b.Flush(ctxT(t)); err == nil {
		t.Fatal("flush reported no error although the answer was lost")
	}
	b.Report(ctxT(t), "inv", []Outcome{{OK: true}, {OK: false}})
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	buckets, err := s.ReadWindow(ctxT(t), "inv", 4, p, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, clk.Now()); got != (circuit.Counts{Calls: 5, Failures: 2}) {
		t.Errorf("window = %+v, want 5 calls, 2 failures (the retried write counted once)", got)
	}
	if st := b.Stats(); st.OutcomesBuffered != 0 {
		t.Errorf("still buffered: %+v", st)
	}
}

// lostPermit performs AcquireProbe but answers with an error, as a permit write that landed and
// whose answer was lost.
type lostPermit struct{ *store.Store }

func (l lostPermit) AcquireProbe(ctx context.Context, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error) {
	if _, _, err := l.Store.AcquireProbe(ctx, id, permit, base, now); err != nil {
		return circuit.Result{}, circuit.Decision{}, err
	}
	return circuit.Result{}, circuit.Decision{}, context.DeadlineExceeded
}

// TestLostPermitAnswerFreesTheSlot: a permit granted in DynamoDB whose answer never came is given
// back, so the next caller gets the probe at once rather than after a lease.
func TestLostPermitAnswerFreesTheSlot(t *testing.T) {
	s := newStore(t)
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1})
	lost := newEnv(t, lostPermit{s}, s, 0, circuit.DefaultPolicy())
	if d := lost.Acquire(ctxT(t), "inv"); d.Allowed {
		t.Fatalf("allowed without hearing the grant: %+v", d)
	}
	if c := stored(t, s, "inv"); len(c.Probes) != 0 {
		t.Fatalf("the unheard permit still holds the slot: %+v", c.Probes)
	}
	other := newEnv(t, s, s, 1, circuit.DefaultPolicy())
	if d := other.Acquire(ctxT(t), "inv"); !d.Allowed || d.Permit == "" {
		t.Fatalf("next caller: %+v, want the probe", d)
	}
}

// sender records published events, or fails while fail is set.
type sender struct {
	mu   sync.Mutex
	fail bool
	got  []events.Detail
}

func (s *sender) Publish(_ context.Context, ds ...events.Detail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("bus unreachable (test)")
	}
	s.got = append(s.got, ds...)
	return nil
}

// TestTransitionsArePublishedOnceAndNeverLost: the extension publishes the trip it wrote at its
// flush; when the bus fails, the event waits in the circuit item and goes out with the next write.
func TestTransitionsArePublishedOnceAndNeverLost(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	snd := &sender{fail: true}
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Since: clk.Now().Add(-time.Hour)})
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy(), on(clk), func(o *Options) { o.Events = snd })
	b.Report(ctxT(t), "inv", []Outcome{{OK: false}, {OK: false}, {OK: false}})
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	c := stored(t, s, "inv")
	if c.State != circuit.Open || len(c.Unpublished) != 1 || c.Unpublished[0].To != "OPEN" {
		t.Fatalf("after the trip with the bus down: %+v, want OPEN with the trip in the outbox", c)
	}
	trip := c.Unpublished[0].Version
	snd.mu.Lock()
	snd.fail = false
	snd.mu.Unlock()
	clk.Add(time.Hour) // past retryAt: the next acquire moves the circuit to HALF_OPEN (a write)
	if d := b.Acquire(ctxT(t), "inv"); !d.Allowed || d.Permit == "" {
		t.Fatalf("acquire past retryAt: %+v", d)
	}
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	snd.mu.Lock()
	got := append([]events.Detail(nil), snd.got...)
	snd.mu.Unlock()
	if len(got) != 2 || got[0].Version != trip || got[0].To != "OPEN" || got[1].To != "HALF_OPEN" {
		t.Fatalf("published %+v, want the recorded trip then OPEN→HALF_OPEN, once each", got)
	}
	if c := stored(t, s, "inv"); len(c.Unpublished) != 0 {
		t.Fatalf("outbox still holds %+v", c.Unpublished)
	}
	if st := b.Stats(); st.PublishErrors != 1 || st.Published != 1 {
		t.Errorf("stats %+v, want one failed and one good publish", st)
	}
}

// TestWindowCopiesArePruned: the window copies of circuits nobody reports on any more are let go.
func TestWindowCopiesArePruned(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy(), on(clk))
	for i := range 20 {
		id := "c" + strconv.Itoa(i)
		b.Report(ctxT(t), id, []Outcome{{OK: false}})
	}
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	n := len(b.windows)
	b.mu.Unlock()
	if n != 20 {
		t.Fatalf("%d window copies after deciding 20 circuits", n)
	}
	clk.Add(10 * time.Minute) // the failures left the window; their runs were judged
	for range 2 {
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	n, p := len(b.windows), len(b.pending)
	b.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d window copies kept ten minutes later, %d buffers", n, p)
	}
}

// TestOneEnvironmentTripsOnceItsCallsAreOlderThanTheLag: an environment's own settled calls count
// once they are older than the lag in which the others' could still be on their way; the decision
// owed until then is made by the next flush, not a bucket later. The incident is older than the
// window, so the whole window is settled: the rest of the fleet failed 48 % of its calls, and this
// environment's 9 failures in 10 take the window over 50 % once they count.
func TestOneEnvironmentTripsOnceItsCallsAreOlderThanTheLag(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	p := circuit.DefaultPolicy()
	b := newEnv(t, s, s, 0, p, on(clk))
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.Closed, Since: clk.Now().Add(-time.Hour),
		BadSince: clk.Now().Add(-2 * time.Minute), BadUntil: clk.Now().Add(time.Minute)})
	buckets := p.WindowBuckets(clk.Now())
	for i, start := range buckets[:circuit.Buckets-1] {
		others := circuit.Counts{Calls: 25, Failures: 12}
		if err := s.AddCounts(ctxT(t), store.CountsWrite{ID: "inv", Shard: 3, Bucket: start, Counts: others, Settled: others,
			Writer: "others", Seq: uint64(i + 1)}, p); err != nil {
			t.Fatal(err)
		}
	}
	b.Acquire(ctxT(t), "inv") // reads the mark: the calls that start from now on are settled
	clk.Add(2 * time.Millisecond)
	outs := make([]Outcome, 10)
	for i := range outs {
		outs[i] = Outcome{OK: i == 4, Latency: time.Millisecond}
	}
	b.Report(ctxT(t), "inv", outs)
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, s, "inv"); c.State != circuit.Closed {
		t.Fatalf("on its own calls of the last moments: %+v, want CLOSED for now", c)
	}
	clk.Add(b.opt.Lag + time.Millisecond)
	if err := b.FlushIfDue(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, s, "inv"); c.State != circuit.Open || !strings.HasPrefix(c.Reason, "failure rate 5") {
		// 69 failures in 135 calls, or 57 in 110 when the clock's step took the oldest bucket away
		t.Fatalf("a lag later: %+v, want OPEN at just over 50 %%", c)
	}
}
