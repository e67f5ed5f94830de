package breaker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// besideStore holds every counter write until a window read has begun (or the write's context
// ends), and counts how many reads began: a flush that reads its window only after its writes never
// lets them through.
type besideStore struct {
	Store
	once    sync.Once
	reading chan struct{}
	mu      sync.Mutex
	reads   int
}

func (s *besideStore) AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error {
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case <-s.reading:
	case <-wait.Done():
		return errors.New("no window read began while the counter write waited for one")
	}
	return s.Store.AddCounts(ctx, w, p)
}

func (s *besideStore) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *besideStore) ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time, with ...store.CountsWrite) ([]circuit.BucketCounts, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	s.once.Do(func() { close(s.reading) })
	return s.Store.ReadWindow(ctx, id, shards, p, now, with...)
}

// A failing report on a marked circuit, whose decision needs the window as read within a flush
// interval, reads it beside its counter write rather than after it: one round trip, not two. The
// copy it decides on counts the write once, as a read made after it does.
func TestFailingReportReadsTheWindowBesideItsWrite(t *testing.T) {
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures, p.MinCalls = 0, 1_000_000 // never trips: the decision only judges
	s := newStore(t)
	clk := newClock()
	now := clk.Now()
	put(t, s, circuit.Circuit{ID: "beside", State: circuit.Closed, Since: now.Add(-time.Minute),
		BadSince: now.Add(-time.Second), BadUntil: now.Add(time.Minute)})
	// Another environment's calls, already in the window.
	if err := s.AddCounts(ctxT(t), store.CountsWrite{ID: "beside", Shard: 2, Bucket: p.BucketStart(now),
		Counts: circuit.Counts{Calls: 40, Failures: 4}, Writer: "other", Seq: 1}, p); err != nil {
		t.Fatal(err)
	}
	bs := &besideStore{Store: s, reading: make(chan struct{})}
	b := newEnv(t, bs, s, 0, p, on(clk))
	b.Report(ctxT(t), "beside", []Outcome{{OK: false, Err: "status 503"}, {OK: true}, {OK: true}})
	if d := b.Due("beside"); d != StakeDecision {
		t.Fatalf("a failing report on a marked circuit: due %v, want a decision", d)
	}
	if err := b.WriteIfDue(ctxT(t), "beside"); err != nil {
		t.Fatalf("the failing report's write: %v", err)
	}
	if n := bs.readCount(); n != 1 {
		t.Errorf("%d window reads for one decision, want 1 (beside the write, none after it)", n)
	}
	b.mu.Lock()
	wc := b.windows["beside"]
	b.mu.Unlock()
	if wc == nil {
		t.Fatal("no window copy kept from the read beside the write")
	}
	after, err := s.ReadWindow(ctxT(t), "beside", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	got, want := p.SumWindow(wc.buckets, time.Time{}, now), p.SumWindow(after, time.Time{}, now)
	if got != want || want.Calls != 43 || want.Failures != 5 {
		t.Errorf("the copy read beside the write holds %+v; a read after it holds %+v; want 43 calls, 5 failures in both", got, want)
	}
}

// Inside an invocation, a failing report's decision on a marked circuit reads the window at most
// once per Lag: a report a flush interval later writes and decides on the copy, one round trip;
// one past Lag reads again, beside its write.
func TestFailingReportsReadTheWindowOncePerLag(t *testing.T) {
	b, cs, clk := markedEnv(t, "lag")
	fail := func() { t.Helper(); failOnce(t, b, "lag") }
	fail()
	if a, r := cs.adds.Load(), cs.reads.Load(); a != 1 || r != 1 {
		t.Fatalf("first failing report: %d writes, %d reads; want 1 and 1", a, r)
	}
	clk.Add(1500 * time.Millisecond) // past the flush interval, within Lag
	fail()
	if a, r := cs.adds.Load(), cs.reads.Load(); a != 2 || r != 1 {
		t.Fatalf("a failing report 1.5s on: %d writes, %d reads; want 2 and still 1 (the copy is younger than Lag)", a, r)
	}
	clk.Add(1500 * time.Millisecond) // the copy is now 3s old, past Lag
	fail()
	if a, r := cs.adds.Load(), cs.reads.Load(); a != 3 || r != 2 {
		t.Fatalf("a failing report 3s after the read: %d writes, %d reads; want 3 and 2", a, r)
	}
}

// A failing report that decided on a copy older than a flush interval (within Lag) leaves a
// decision owed on a fresh read when the copy turns a Lag old: with no further call, the background
// flusher reads the window then and decides, so a burst that ends within a Lag of the read is
// still judged on the others' calls.
func TestSkippedReadIsOwedToTheBackgroundFlusher(t *testing.T) {
	b, cs, clk := markedEnv(t, "owed")
	failOnce(t, b, "owed")
	clk.Add(1500 * time.Millisecond)
	failOnce(t, b, "owed")
	// The second report, 1.5 s after the read, decided on the copy: one read so far.
	if r := cs.reads.Load(); r != 1 {
		t.Fatalf("%d reads after two failing reports 1.5 s apart, want 1", r)
	}
	clk.Add(500 * time.Millisecond) // 2 s after the read: the copy is a Lag old
	if err := b.FlushIfDue(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if r := cs.reads.Load(); r != 2 {
		t.Fatalf("%d reads once the copy turned a Lag old with a decision owed, want 2 (the background flusher's)", r)
	}
}

// markedEnv is an environment on a fake clock (flush interval 1 s, Lag 2 s) and circuit id, CLOSED
// with a live bad-window mark, under a policy that never trips: every decision only judges.
func markedEnv(t *testing.T, id string) (*Breaker, *callCounter, *fakeClock) {
	t.Helper()
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures, p.MinCalls = 0, 1_000_000
	s := newStore(t)
	clk := newClock()
	now := clk.Now()
	put(t, s, circuit.Circuit{ID: id, State: circuit.Closed, Since: now.Add(-time.Minute),
		BadSince: now.Add(-time.Second), BadUntil: now.Add(time.Minute)})
	cs := &callCounter{Store: s}
	return newEnv(t, cs, s, 0, p, on(clk)), cs, clk
}

// failOnce reports one failing call of circuit id and writes what is due, as the report path does.
func failOnce(t *testing.T, b *Breaker, id string) {
	t.Helper()
	b.Report(ctxT(t), id, []Outcome{{OK: false, Err: "status 503"}})
	if err := b.WriteIfDue(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
}
