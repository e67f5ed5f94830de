package memstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
	"github.com/breakerbox/breakerbox/internal/store/memstore"
	"github.com/breakerbox/breakerbox/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// TestContract holds the memory store to the same contract as the DynamoDB store on moto.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Circuits { return memstore.New(memstore.Options{}) })
}

// TestWindowItemExpires: a bucket's item expires one window after the bucket's end (epoch
// seconds), as the DynamoDB store sets expiresAt; Sweep removes it only once that has passed.
func TestWindowItemExpires(t *testing.T) {
	now := t0
	s := memstore.New(memstore.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	p := circuit.DefaultPolicy() // 60s window, 10s buckets
	bucket := p.BucketStart(t0.Add(35 * time.Second))
	if err := s.AddCounts(ctx, store.CountsWrite{ID: "w", Bucket: bucket, Counts: circuit.Counts{Calls: 3, Failures: 1}, Writer: "env", Seq: 1}, p); err != nil {
		t.Fatal(err)
	}
	exp, ok := s.ExpiresAt("w", 0, bucket)
	if want := bucket.Add(70 * time.Second).Unix(); !ok || exp != want {
		t.Fatalf("expiresAt = %d (%v), want %d: bucket end + window, epoch seconds", exp, ok, want)
	}
	now = time.Unix(exp, 0)
	if n := s.Sweep(); n != 0 {
		t.Fatalf("swept %d items at their expiry, want 0 (it has not passed yet)", n)
	}
	now = time.Unix(exp+1, 0)
	if n := s.Sweep(); n != 1 {
		t.Fatalf("swept %d items after their expiry, want 1", n)
	}
	if _, ok := s.ExpiresAt("w", 0, bucket); ok {
		t.Fatal("the expired item is still there after Sweep")
	}
}

// TestListAndGetMany: the DynamoDB store's List and GetMany, on the memory store.
func TestListAndGetMany(t *testing.T) {
	s := memstore.New(memstore.Options{})
	ctx := context.Background()
	for _, id := range []string{"c", "a", "b"} {
		if err := s.Put(ctx, circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: t0}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range all {
		ids = append(ids, c.ID)
	}
	if !reflect.DeepEqual(ids, []string{"a", "b", "c"}) {
		t.Fatalf("List = %v, want a b c", ids)
	}
	got, err := s.GetMany(ctx, []string{"a", "nobody", "c", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"].ID != "a" || got["c"].ID != "c" {
		t.Fatalf("GetMany = %v, want a and c only", got)
	}
	if _, err := s.GetMany(ctx, []string{"ok", "not ok"}); err == nil {
		t.Fatal("GetMany with an invalid id: no error")
	}
}

// TestStatsCountBilledCalls: reads and writes are counted as DynamoDB would bill them, a failed
// conditional write and a retried counter write included.
func TestStatsCountBilledCalls(t *testing.T) {
	s := memstore.New(memstore.Options{})
	ctx := context.Background()
	p := circuit.DefaultPolicy()
	c := circuit.Circuit{ID: "x", State: circuit.Closed, Version: 1, Since: t0}
	if err := s.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	w := store.CountsWrite{ID: "x", Bucket: p.BucketStart(t0), Counts: circuit.Counts{Calls: 1}, Writer: "env", Seq: 1}
	for range 2 {
		if err := s.AddCounts(ctx, w, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadWindow(ctx, "x", 4, p, t0); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Stats(), (memstore.Stats{Reads: 2, Writes: 4}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	s.ResetStats()
	if got := s.Stats(); got != (memstore.Stats{}) {
		t.Fatalf("after ResetStats: %+v", got)
	}
}

// TestCanceledContextIsAnError: a call whose context has ended does nothing and says why.
func TestCanceledContextIsAnError(t *testing.T) {
	s := memstore.New(memstore.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, circuit.Circuit{ID: "x", State: circuit.Closed, Version: 1, Since: t0}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if _, err := s.Get(context.Background(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a canceled Put wrote: Get = %v", err)
	}
}
