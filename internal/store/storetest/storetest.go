// Package storetest is the contract every implementation of store.Circuits must meet: the DynamoDB
// store on moto_server runs it, and so does any other implementation (the fleet simulator's in-memory
// store), so a simulation on one says something about the other. Run it from a test:
//
//	func TestContract(t *testing.T) { storetest.Run(t, func(t *testing.T) store.Circuits { return newStore(t) }) }
package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Open returns a new, empty store for one test. It must allow Update enough attempts for 10
// concurrent writers on one circuit to all succeed.
type Open func(t *testing.T) store.Circuits

// t0 is the contract's fixed clock: the store never reads time itself.
var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// Run runs every contract test against stores from open, as subtests.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		f    func(*testing.T, store.Circuits)
	}{
		{"RoundTripKeepsEveryField", roundTrip},
		{"GetUnknownIsNotFound", getUnknown},
		{"PutIsConditionalOnVersion", putConditional},
		{"UpdateRedecidesAfterALostRace", updateRedecides},
		{"ObserveCreatesAndTrips", observeTrips},
		{"ForceOverridesAndClear", forceAndClear},
		{"InvalidInputRejected", invalidInput},
		{"WindowSumsShardsAndBuckets", windowShards},
		{"CountsWriteIsIdempotent", countsIdempotent},
		{"WindowReadCountsItsOwnWritesOnce", readWithWrites},
		{"ConcurrentObservationsLoseNothing", concurrentObservations},
		{"ProbeLeaseElection", probeElection},
		{"ReleaseProbeFreesThePermit", releaseProbe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, open(t)) })
	}
}

// ctxT bounds one contract test generously: a loaded machine with moto under -race is slow.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func roundTrip(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	want := circuit.Circuit{
		ID: "inventory", State: circuit.HalfOpen, Version: 1, Since: t0, Reason: "probing",
		OpenCount: 2, ConsecutiveFailures: 1, ProbeSuccesses: 1, UpdatedAt: t0,
		CheckedAt: t0.Add(time.Second), LastLatencyMs: 1234, LastError: "timeout",
		Probes:   []circuit.Probe{{Permit: "a", Until: t0.Add(30 * time.Second)}, {Permit: "b", Until: t0.Add(31 * time.Second)}},
		Policy:   map[string]string{"failureRate": "25"},
		BadSince: t0.Add(-time.Minute), BadUntil: t0.Add(time.Minute),
		Unpublished: []circuit.Transition{{From: "CLOSED", To: "OPEN", Reason: "failure rate", At: t0.Add(-time.Hour), Version: 7}},
	}
	if err := s.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	for _, get := range []func(context.Context, string) (circuit.Circuit, error){s.Get, s.GetConsistent} {
		got, err := get(ctx, "inventory")
		if err != nil {
			t.Fatal(err)
		}
		got.WriteTokens = nil // the store's own marks of its writes, not the caller's
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
}

func getUnknown(t *testing.T, s store.Circuits) {
	if _, err := s.Get(ctxT(t), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetConsistent(ctxT(t), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetConsistent: err = %v, want ErrNotFound", err)
	}
}

func putConditional(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	c := circuit.Circuit{ID: "pay", State: circuit.Closed, Version: 1, Since: t0}
	if err := s.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: err = %v, want ErrConflict", err)
	}
	c.Version = 3 // skips version 2: the stored one is 1, so this must fail
	if err := s.Put(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("skipping a version: err = %v, want ErrConflict", err)
	}
	c.Version = 2
	if err := s.Put(ctx, c); err != nil {
		t.Fatalf("next version: %v", err)
	}
	if got, _ := s.GetConsistent(ctx, "pay"); got.Version != 2 {
		t.Fatalf("stored version %d, want 2", got.Version)
	}
}

// updateRedecides: a write that lands between Update's read and its write makes Update decide again
// from the winner, never overwrite it.
func updateRedecides(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	if err := s.Put(ctx, circuit.Circuit{ID: "race", State: circuit.Closed, Version: 1, Since: t0}); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	res, err := s.Update(ctx, "race", func(prev circuit.Circuit) (circuit.Result, error) {
		seen = append(seen, prev.Version)
		if len(seen) == 1 { // another writer wins the race meanwhile
			other := prev
			other.Version++
			other.Reason = "the other writer"
			if err := s.Put(ctx, other); err != nil {
				return circuit.Result{}, err
			}
		}
		next := prev
		next.Version++
		next.ConsecutiveFailures = prev.ConsecutiveFailures + 1
		return circuit.Result{Circuit: next, Changed: true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []int64{1, 2}) || res.Circuit.Version != 3 {
		t.Fatalf("decided on versions %v, wrote %d; want [1 2] and 3", seen, res.Circuit.Version)
	}
	if got, _ := s.GetConsistent(ctx, "race"); got.Reason != "the other writer" || got.Version != 3 {
		t.Fatalf("stored %+v: the winner's write was overwritten", got)
	}
}

func observeTrips(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	fail := circuit.Observation{Outcomes: []circuit.Outcome{{OK: false, Err: "status 503"}}, Checked: true}
	var last circuit.Result
	for i := 0; i < p.ConsecutiveFailures; i++ {
		var err error
		if last, err = store.ObserveWith(ctx, s, "inv", fail, p, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, "inv")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != circuit.Open || got.LastError != "status 503" {
		t.Fatalf("after %d failures: %+v", p.ConsecutiveFailures, got)
	}
	if tr := last.Transition; !tr.Happened() || tr.From != "CLOSED" || tr.To != "OPEN" {
		t.Fatalf("transition = %+v", tr)
	}
}

func forceAndClear(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	if _, err := store.ForceWith(ctx, s, "inv", circuit.ForcedOpen, "maintenance", t0); err != nil {
		t.Fatal(err)
	}
	_, dec, err := s.AcquireProbe(ctx, "inv", "p1", circuit.DefaultPolicy(), t0.Add(time.Hour))
	if err != nil || dec.Allowed {
		t.Fatalf("acquire on FORCED_OPEN: %+v %v", dec, err)
	}
	if _, err := store.ForceWith(ctx, s, "inv", circuit.NoOverride, "done", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "inv")
	if got.State != circuit.Closed || got.Override != circuit.NoOverride || got.Version != 2 {
		t.Fatalf("after clear: %+v", got)
	}
}

func invalidInput(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	for _, id := range []string{"", "has space", "a/b", string(make([]byte, 129))} {
		if _, err := s.Get(ctx, id); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q): err = %v, want an invalid-id error", id, err)
		}
		if err := s.AddCounts(ctx, store.CountsWrite{ID: id, Bucket: t0, Counts: circuit.Counts{Calls: 1}, Writer: "w", Seq: 1}, p); err == nil {
			t.Errorf("AddCounts(%q): no error", id)
		}
	}
	for _, w := range []store.CountsWrite{
		{ID: "ok", Bucket: t0, Counts: circuit.Counts{Calls: 1}, Writer: "", Seq: 1},
		{ID: "ok", Bucket: t0, Counts: circuit.Counts{Calls: 1}, Writer: "a b", Seq: 1},
		{ID: "ok", Bucket: t0, Counts: circuit.Counts{Calls: 1}, Writer: "w", Seq: 0},
		{ID: "ok", Shard: -1, Bucket: t0, Counts: circuit.Counts{Calls: 1}, Writer: "w", Seq: 1},
		{ID: "ok", Bucket: t0, Counts: circuit.Counts{Calls: 1}, Settled: circuit.Counts{Calls: 2}, Writer: "w", Seq: 1},
	} {
		if err := s.AddCounts(ctx, w, p); err == nil {
			t.Errorf("AddCounts(%+v): no error", w)
		}
	}
	if _, err := s.ReadWindow(ctx, "ok", 17, p, t0); err == nil {
		t.Error("ReadWindow of 17 shards × 6 buckets (> 100 keys, one BatchGetItem): no error")
	}
}

// add writes one counts write and fails the test on error.
func add(t *testing.T, s store.Circuits, w store.CountsWrite, p circuit.Policy) {
	t.Helper()
	if err := s.AddCounts(ctxT(t), w, p); err != nil {
		t.Fatal(err)
	}
}

func windowShards(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	p := circuit.DefaultPolicy() // 60s window, 10s buckets
	now := t0.Add(35 * time.Second)
	seq := uint64(0)
	at := func(shard int, when time.Time, c circuit.Counts) {
		seq++
		add(t, s, store.CountsWrite{ID: "w", Shard: shard, Bucket: p.BucketStart(when), Counts: c, Writer: "env1", Seq: seq}, p)
	}
	seq++
	add(t, s, store.CountsWrite{ID: "w", Shard: 2, Bucket: p.BucketStart(now), Counts: circuit.Counts{Calls: 4, Failures: 2, Slow: 1},
		Settled: circuit.Counts{Calls: 3, Failures: 2}, Writer: "env1", Seq: seq}, p)
	at(0, now, circuit.Counts{Calls: 3, Failures: 1})
	at(3, now, circuit.Counts{Calls: 2, Failures: 2, Slow: 1})
	at(1, now.Add(-50*time.Second), circuit.Counts{Calls: 5})                  // oldest bucket still in the window
	at(2, now.Add(-61*time.Second), circuit.Counts{Calls: 100, Failures: 100}) // out of the window
	at(1, now, circuit.Counts{})                                               // nothing to add
	buckets, err := s.ReadWindow(ctx, "w", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) != circuit.Buckets {
		t.Fatalf("%d buckets, want %d", len(buckets), circuit.Buckets)
	}
	if got, want := p.SumWindow(buckets, time.Time{}, now), (circuit.Counts{Calls: 14, Failures: 5, Slow: 2}); got != want {
		t.Fatalf("window = %+v, want %+v", got, want)
	}
	if got, want := p.SumWindow(buckets, p.BucketStart(now), now), (circuit.Counts{Calls: 9, Failures: 5, Slow: 2}); got != want {
		t.Fatalf("window since the current bucket = %+v, want %+v", got, want)
	}
	if got, want := buckets[len(buckets)-1].Settled, (circuit.Counts{Calls: 3, Failures: 2}); got != want {
		t.Fatalf("settled counts of the current bucket = %+v, want %+v", got, want)
	}
	if buckets, err = s.ReadWindow(ctx, "w", 2, p, now); err != nil {
		t.Fatal(err)
	}
	if got, want := p.SumWindow(buckets, time.Time{}, now), (circuit.Counts{Calls: 8, Failures: 1}); got != want {
		t.Fatalf("window of shards 0-1 = %+v, want %+v", got, want)
	}
	later := now.Add(p.Window + p.BucketWidth())
	if buckets, err = s.ReadWindow(ctx, "w", 4, p, later); err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, later); !got.IsZero() {
		t.Fatalf("a window later: %+v, want nothing", got)
	}
}

// readWithWrites: a window read made beside the caller's own writes counts each of them once,
// whether the read comes before the write, after it, or after a retry of it; writes of another
// circuit are refused, and writes outside the window or the shards read are left out.
func readWithWrites(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	b := p.BucketStart(t0)
	w := func(writer string, shard int, seq uint64, bucket time.Time, calls int64) store.CountsWrite {
		return store.CountsWrite{ID: "beside", Shard: shard, Bucket: bucket, Counts: circuit.Counts{Calls: calls, Failures: calls},
			Settled: circuit.Counts{Calls: 1}, Writer: writer, Seq: seq}
	}
	calls := func(with ...store.CountsWrite) (int64, int64) {
		t.Helper()
		buckets, err := s.ReadWindow(ctx, "beside", 2, p, t0, with...)
		if err != nil {
			t.Fatal(err)
		}
		var n, settled int64
		for _, bc := range buckets {
			n += bc.Calls
			settled += bc.Settled.Calls
		}
		return n, settled
	}
	add(t, s, w("envB", 0, 1, b, 100), p) // another environment's: always counted, once
	first, second := w("envA", 1, 4, b, 10), w("envA", 1, 5, b, 3)
	old := w("envA", 0, 9, b.Add(-p.Window), 1000)         // a bucket that has left the window
	far := w("envA", 3, 2, b, 1000)                        // a shard the read does not cover
	beside := []store.CountsWrite{first, second, old, far} // envA's flush, under way
	if n, settled := calls(beside...); n != 113 || settled != 3 {
		t.Fatalf("before the writes: %d calls (%d settled), want 113 (3): 100 + 10 + 3, each counted once", n, settled)
	}
	add(t, s, first, p)
	if n, _ := calls(beside...); n != 113 {
		t.Fatalf("between the writes: %d calls, want 113", n)
	}
	add(t, s, second, p)
	add(t, s, first, p) // a late retry of the first: taken already
	if n, settled := calls(beside...); n != 113 || settled != 3 {
		t.Fatalf("after the writes: %d calls (%d settled), want 113 (3)", n, settled)
	}
	if n, _ := calls(); n != 113 {
		t.Fatalf("read alone after the writes: %d calls, want 113", n)
	}
	other := first
	other.ID = "another"
	if _, err := s.ReadWindow(ctx, "beside", 2, p, t0, other); err == nil {
		t.Fatal("a read with a write to another circuit was accepted, want an error that says so")
	}
	bad := first
	bad.Seq = 0
	if _, err := s.ReadWindow(ctx, "beside", 2, p, t0, bad); err == nil {
		t.Fatal("a read with a write without a sequence number was accepted, want an error")
	}
}

// countsIdempotent: a write retried with its sequence number counts once, as does an older write
// retried after a newer one; other writers and other buckets are independent.
func countsIdempotent(t *testing.T, s store.Circuits) {
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	b := p.BucketStart(t0)
	w := func(writer string, seq uint64, bucket time.Time, calls int64) store.CountsWrite {
		return store.CountsWrite{ID: "idem", Shard: 1, Bucket: bucket, Counts: circuit.Counts{Calls: calls, Failures: 1}, Writer: writer, Seq: seq}
	}
	add(t, s, w("envA", 1, b, 10), p)
	add(t, s, w("envA", 1, b, 10), p) // the SDK's retry of a write whose answer was lost
	add(t, s, w("envA", 2, b, 5), p)
	add(t, s, w("envA", 1, b, 10), p) // a late retry of the first write
	add(t, s, w("envB", 1, b, 7), p)  // another environment's first write
	add(t, s, w("envA", 1, b.Add(p.BucketWidth()), 3), p)
	buckets, err := s.ReadWindow(ctx, "idem", 4, p, t0.Add(p.BucketWidth()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int64{}
	for _, bc := range buckets {
		got[bc.Start.Unix()] = bc.Calls
	}
	if got[b.Unix()] != 22 || got[b.Add(p.BucketWidth()).Unix()] != 3 {
		t.Fatalf("calls per bucket %v; want 22 in the first (10 + 5 + 7, retries counted once) and 3 in the next", got)
	}
}

// concurrentObservations: 10 writers × 20 observations on one circuit. Each observation is one
// failure; with the trip rules out of reach, every one must raise the stored consecutive-failure
// count by one, each write must take the next version exactly once, and the counters must add up.
// It is sized to finish on a loaded two-core machine: what it proves does not grow with the count.
func concurrentObservations(t *testing.T, st store.Circuits) {
	const writers, each = 10, 20
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures = 0 // off: let the count grow
	p.MinCalls = 1 << 40      // rate rules out of reach

	var mu sync.Mutex
	var versions []int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			writer := "env" + string(rune('A'+w))
			for i := 0; i < each; i++ {
				obs := circuit.Observation{Outcomes: []circuit.Outcome{{OK: false, Latency: 2 * time.Second}}}
				res, err := store.ObserveWith(ctx, st, "shared", obs, p, t0)
				if err != nil {
					errs <- err
					return
				}
				cw := store.CountsWrite{ID: "shared", Shard: w % 4, Bucket: p.BucketStart(t0), Counts: circuit.Counts{Calls: 1, Failures: 1, Slow: int64(i % 2)}, Writer: writer, Seq: uint64(i + 1)}
				if err := st.AddCounts(ctx, cw, p); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				versions = append(versions, res.Circuit.Version)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := st.GetConsistent(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != writers*each || got.ConsecutiveFailures != writers*each {
		t.Fatalf("version %d, consecutive failures %d; want both %d (a write was lost)", got.Version, got.ConsecutiveFailures, writers*each)
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != int64(i+1) {
			t.Fatalf("versions written: position %d holds %d; every version 1..%d must be written exactly once", i, v, writers*each)
		}
	}
	buckets, err := st.ReadWindow(ctx, "shared", 4, p, t0)
	if err != nil {
		t.Fatal(err)
	}
	sum := p.SumWindow(buckets, time.Time{}, t0)
	if want := (circuit.Counts{Calls: writers * each, Failures: writers * each, Slow: writers * each / 2}); sum != want {
		t.Fatalf("window counts %+v, want %+v", sum, want)
	}
}

// probeElection: 20 claimants race for permits on a HALF_OPEN circuit; exactly the policy's number of
// probes win. After the lease runs out, a new claimant wins again.
func probeElection(t *testing.T, st store.Circuits) {
	for i, probes := range []int{1, 3} {
		ctx := ctxT(t)
		id := "elect" + string(rune('0'+i))
		p := circuit.DefaultPolicy()
		p.HalfOpenProbes = probes
		open := circuit.Circuit{ID: id, State: circuit.Open, Version: 1, Since: t0, RetryAt: t0.Add(30 * time.Second), OpenCount: 1}
		if err := st.Put(ctx, open); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(31 * time.Second) // past retryAt: the first winner moves it to HALF_OPEN
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				permit := "p" + string(rune('A'+i))
				_, dec, err := st.AcquireProbe(ctx, id, permit, p, now)
				if err != nil {
					t.Error(err)
					return
				}
				if dec.Allowed {
					if dec.Permit != permit {
						t.Errorf("permit %q granted as %q", permit, dec.Permit)
					}
					mu.Lock()
					winners = append(winners, permit)
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		if len(winners) != probes {
			t.Fatalf("probes=%d: %d permits granted (%v)", probes, len(winners), winners)
		}
		got, _ := st.GetConsistent(ctx, id)
		if got.State != circuit.HalfOpen || len(got.Probes) != probes {
			t.Fatalf("stored %s with %d probes, want HALF_OPEN with %d", got.State, len(got.Probes), probes)
		}
		_, dec, err := st.AcquireProbe(ctx, id, "late", p, now.Add(p.ProbeLease-time.Millisecond))
		if err != nil || dec.Allowed {
			t.Fatalf("while leases live: allowed=%v err=%v", dec.Allowed, err)
		}
		_, dec, err = st.AcquireProbe(ctx, id, "late", p, now.Add(p.ProbeLease))
		if err != nil || !dec.Allowed {
			t.Fatalf("after leases expired: allowed=%v err=%v", dec.Allowed, err)
		}
	}
}

func releaseProbe(t *testing.T, st store.Circuits) {
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	if err := st.Put(ctx, circuit.Circuit{ID: "rel", State: circuit.HalfOpen, Version: 1, Since: t0}); err != nil {
		t.Fatal(err)
	}
	if _, dec, _ := st.AcquireProbe(ctx, "rel", "one", p, t0); !dec.Allowed {
		t.Fatal("first permit refused")
	}
	if _, dec, _ := st.AcquireProbe(ctx, "rel", "two", p, t0); dec.Allowed {
		t.Fatal("second permit granted while the first is held")
	}
	if _, err := store.ReleaseProbeWith(ctx, st, "rel", "one", t0); err != nil {
		t.Fatal(err)
	}
	if _, dec, _ := st.AcquireProbe(ctx, "rel", "two", p, t0); !dec.Allowed {
		t.Fatal("permit refused after release")
	}
}
