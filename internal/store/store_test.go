package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestRoundTripKeepsEveryField(t *testing.T) {
	s, _ := newStore(t, store.Options{})
	ctx := ctxT(t)
	want := circuit.Circuit{
		ID: "inventory", State: circuit.HalfOpen, Version: 1, Since: t0, Reason: "probing",
		OpenCount: 2, ConsecutiveFailures: 1, ProbeSuccesses: 1, UpdatedAt: t0,
		CheckedAt: t0.Add(time.Second), LastLatencyMs: 1234, LastError: "timeout",
		Probes: []circuit.Probe{{Permit: "a", Until: t0.Add(30 * time.Second)}, {Permit: "b", Until: t0.Add(31 * time.Second)}},
		Policy: map[string]string{"failureRate": "25"},
	}
	if err := s.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "inventory")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestGetUnknownIsNotFound(t *testing.T) {
	s, _ := newStore(t, store.Options{})
	_, err := s.Get(ctxT(t), "nobody")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestPutIsConditionalOnVersion(t *testing.T) {
	s, _ := newStore(t, store.Options{})
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
}

func TestObserveCreatesAndTrips(t *testing.T) {
	s, _ := newStore(t, store.Options{})
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	fail := circuit.Observation{Outcomes: []circuit.Outcome{{OK: false, Err: "status 503"}}, Checked: true}
	var last circuit.Result
	for i := 0; i < 3; i++ {
		var err error
		if last, err = s.Observe(ctx, "inv", fail, p, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, "inv")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != circuit.Open || got.Version != 3 || got.LastError != "status 503" {
		t.Fatalf("after 3 failures: %+v", got)
	}
	if !last.Transition.Happened() || last.Transition.From != "CLOSED" || last.Transition.To != "OPEN" {
		t.Fatalf("transition = %+v", last.Transition)
	}
}

func TestForceOverridesAndClear(t *testing.T) {
	s, _ := newStore(t, store.Options{})
	ctx := ctxT(t)
	if _, err := s.Force(ctx, "inv", circuit.ForcedOpen, "maintenance", t0); err != nil {
		t.Fatal(err)
	}
	_, dec, err := s.AcquireProbe(ctx, "inv", "p1", circuit.DefaultPolicy(), t0.Add(time.Hour))
	if err != nil || dec.Allowed {
		t.Fatalf("acquire on FORCED_OPEN: %+v %v", dec, err)
	}
	if _, err := s.Force(ctx, "inv", circuit.NoOverride, "done", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "inv")
	if got.State != circuit.Closed || got.Override != circuit.NoOverride || got.Version != 2 {
		t.Fatalf("after clear: %+v", got)
	}
}

func TestListFollowsPagination(t *testing.T) {
	s, _ := newStore(t, store.Options{ScanPageSize: 4})
	ctx := ctxT(t)
	want := map[string]bool{}
	for i := 0; i < 11; i++ {
		id := "svc-" + string(rune('a'+i))
		want[id] = true
		if err := s.Put(ctx, circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: t0}); err != nil {
			t.Fatal(err)
		}
		// Window items share the table and must not show up as circuits.
		if err := s.AddCounts(ctx, id, 0, t0, circuit.Counts{Calls: 1}, circuit.DefaultPolicy()); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d circuits, want %d", len(got), len(want))
	}
	for _, c := range got {
		if !want[c.ID] {
			t.Fatalf("unexpected circuit %q", c.ID)
		}
	}
}

func TestInvalidIDRejectedBeforeAnyCall(t *testing.T) {
	s, _ := newStore(t, store.Options{})
	ctx := ctxT(t)
	for _, id := range []string{"", "has space", "a/b", string(make([]byte, 129))} {
		if _, err := s.Get(ctx, id); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q): err = %v, want an invalid-id error", id, err)
		}
		if err := s.AddCounts(ctx, id, 0, t0, circuit.Counts{Calls: 1}, circuit.DefaultPolicy()); err == nil {
			t.Errorf("AddCounts(%q): no error", id)
		}
	}
}
