package cache

import (
	"context"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// TestMarkSeenAtIsWhenTheMarkFirstArrived: a copy carrying a bad-window mark remembers when this
// environment first held that mark, through re-reads and its own writes that carry the same mark; a
// new mark starts again at its read, and a copy without one has none.
func TestMarkSeenAtIsWhenTheMarkFirstArrived(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	start := clk.Now().Round(0)
	healthy := circuit.Circuit{ID: "inv", State: circuit.Closed, Version: 1}
	r := newReader(healthy)
	c := newCache(t, r, clk, Options{TTL: time.Second, Size: 4})
	get := func() Entry {
		t.Helper()
		res, err := c.Get(ctx, "inv")
		if err != nil {
			t.Fatal(err)
		}
		return res.Entry
	}
	if e := get(); !e.MarkSeenAt.IsZero() {
		t.Fatalf("no mark: MarkSeenAt %v", e.MarkSeenAt)
	}
	marked := healthy
	marked.Version, marked.BadSince, marked.BadUntil = 2, start, start.Add(time.Minute)
	r.set(marked)
	clk.advance(2 * time.Second)
	first := get()
	if want := start.Add(2 * time.Second); !first.MarkSeenAt.Equal(want) {
		t.Fatalf("mark read at %v: MarkSeenAt %v", want, first.MarkSeenAt)
	}
	clk.advance(2 * time.Second)
	if e := get(); !e.MarkSeenAt.Equal(first.MarkSeenAt) || !e.ReadAt.After(first.ReadAt) {
		t.Fatalf("re-read of the same mark: %+v, want MarkSeenAt kept at %v", e, first.MarkSeenAt)
	}
	clk.advance(time.Second)
	written := marked
	written.Version, written.BadUntil = 3, start.Add(2*time.Minute) // the mark extended here
	c.Put(written)
	if e, _ := c.Peek("inv"); !e.MarkSeenAt.Equal(first.MarkSeenAt) {
		t.Fatalf("own write of the same mark: MarkSeenAt %v, want %v", e.MarkSeenAt, first.MarkSeenAt)
	}
	renewed := written
	renewed.Version, renewed.BadSince, renewed.BadUntil = 4, start.Add(3*time.Minute), start.Add(4*time.Minute)
	r.set(renewed)
	clk.advance(2 * time.Second)
	if e := get(); !e.MarkSeenAt.Equal(e.ReadAt) {
		t.Fatalf("a new mark: MarkSeenAt %v, want its read %v", e.MarkSeenAt, e.ReadAt)
	}
}
