package store_test

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
	"github.com/breakerbox/breakerbox/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// TestContract runs the store contract (storetest) against DynamoDB on moto_server.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Circuits {
		s, _ := newStore(t, store.Options{MaxAttempts: 100000})
		return s
	})
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
		if err := s.AddCounts(ctx, store.CountsWrite{ID: id, Bucket: t0, Counts: circuit.Counts{Calls: 1}, Writer: "env", Seq: 1}, circuit.DefaultPolicy()); err != nil {
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
