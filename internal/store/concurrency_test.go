package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

func goodCircuit(id string) circuit.Circuit {
	return circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: t0}
}

// TestConcurrentObservationsLoseNothing: 20 writers × 50 observations on one circuit. Each
// observation is one failure; with the trip rules out of reach, every one must raise the stored
// consecutive-failure count by one, each write must take the next version exactly once, and the
// window counters (atomic ADD) must add up exactly.
func TestConcurrentObservationsLoseNothing(t *testing.T) {
	const writers, each = 20, 50
	st, _ := newStore(t, store.Options{MaxAttempts: 100000})
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
			for i := 0; i < each; i++ {
				obs := circuit.Observation{Outcomes: []circuit.Outcome{{OK: false, Latency: 2 * time.Second}}}
				res, err := st.Observe(ctx, "shared", obs, p, t0)
				if err != nil {
					errs <- err
					return
				}
				if err := st.AddCounts(ctx, "shared", w%4, t0, circuit.Counts{Calls: 1, Failures: 1, Slow: int64(i % 2)}, p); err != nil {
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
	got, err := st.Get(ctx, "shared")
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
	want := circuit.Counts{Calls: writers * each, Failures: writers * each, Slow: writers * each / 2}
	if sum != want {
		t.Fatalf("window counts %+v, want %+v", sum, want)
	}
}

// TestProbeLeaseElection: 20 claimants race for permits on a HALF_OPEN circuit; exactly the policy's
// number of probes win. After the lease runs out, a new claimant wins again.
func TestProbeLeaseElection(t *testing.T) {
	for _, probes := range []int{1, 3} {
		st, _ := newStore(t, store.Options{MaxAttempts: 100000})
		ctx := ctxT(t)
		p := circuit.DefaultPolicy()
		p.HalfOpenProbes = probes
		open := circuit.Circuit{ID: "elect", State: circuit.Open, Version: 1, Since: t0, RetryAt: t0.Add(30 * time.Second), OpenCount: 1}
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
				_, dec, err := st.AcquireProbe(ctx, "elect", permit, p, now)
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
		got, _ := st.Get(ctx, "elect")
		if got.State != circuit.HalfOpen || len(got.Probes) != probes {
			t.Fatalf("stored %s with %d probes, want HALF_OPEN with %d", got.State, len(got.Probes), probes)
		}
		_, dec, err := st.AcquireProbe(ctx, "elect", "late", p, now.Add(p.ProbeLease-time.Millisecond))
		if err != nil || dec.Allowed {
			t.Fatalf("while leases live: allowed=%v err=%v", dec.Allowed, err)
		}
		_, dec, err = st.AcquireProbe(ctx, "elect", "late", p, now.Add(p.ProbeLease))
		if err != nil || !dec.Allowed {
			t.Fatalf("after leases expired: allowed=%v err=%v", dec.Allowed, err)
		}
	}
}

func TestReleaseProbeFreesThePermit(t *testing.T) {
	st, _ := newStore(t, store.Options{})
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
	if _, err := st.ReleaseProbe(ctx, "rel", "one", t0); err != nil {
		t.Fatal(err)
	}
	if _, dec, _ := st.AcquireProbe(ctx, "rel", "two", p, t0); !dec.Allowed {
		t.Fatal("permit refused after release")
	}
}

func TestUpdateGivesUpWithConflictAfterMaxAttempts(t *testing.T) {
	st, _ := newStore(t, store.Options{MaxAttempts: 3})
	ctx := ctxT(t)
	if err := st.Put(ctx, goodCircuit("busy")); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, err := st.Update(ctx, "busy", func(prev circuit.Circuit) (circuit.Result, error) {
		calls++
		next := prev
		next.Version = prev.Version + 5 // never the next version: always conflicts
		return circuit.Result{Circuit: next, Changed: true}, nil
	})
	if !errors.Is(err, store.ErrConflict) || calls != 3 {
		t.Fatalf("err = %v after %d decisions; want ErrConflict after 3", err, calls)
	}
}
