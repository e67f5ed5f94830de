package controlstate_test

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Marks round-trip through the item, survive plain Updates (which do not know them), and are
// removed from the item when cleared.
func TestMarksAreKeptUntilCleared(t *testing.T) {
	db, table := newTable(t)
	s := controlstate.New(db, table, controlstate.Options{Timeout: 20 * time.Second})
	ctx := ctxT(t)
	ctrl := stepController(t)
	now := time.UnixMilli(1_700_000_000_000)
	marks := controlstate.Marks{Resuming: true}
	ch, err := s.UpdateEntry(ctx, "m-1", controlstate.Snapshot{}, func(prev controlstate.Entry) (controlstate.Entry, adaptive.Decision) {
		st, d := ctrl.Next(prev.State, healthy, now)
		return controlstate.Entry{State: st, Marks: marks}, d
	})
	if err != nil || ch.Marks != marks || ch.PrevMarks != (controlstate.Marks{}) {
		t.Fatalf("UpdateEntry = %+v, %v", ch, err)
	}
	snap, err := s.Get(ctx, "m-1")
	if err != nil || snap.Marks != marks {
		t.Fatalf("Get = %+v, %v; want marks %+v", snap, err, marks)
	}
	// An Update that knows nothing of marks keeps them.
	if _, err := s.Update(ctx, "m-1", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return ctrl.Next(prev, healthy, now)
	}); err != nil {
		t.Fatal(err)
	}
	if snap, err = s.Get(ctx, "m-1"); err != nil || snap.Marks != marks || snap.State.Concurrency != 3 {
		t.Fatalf("after a plain Update: %+v, %v", snap, err)
	}
	if _, err := s.UpdateEntry(ctx, "m-1", snap, func(prev controlstate.Entry) (controlstate.Entry, adaptive.Decision) {
		return controlstate.Entry{State: prev.State}, adaptive.Decision{BatchSize: prev.State.BatchSize}
	}); err != nil {
		t.Fatal(err)
	}
	if snap, err = s.Get(ctx, "m-1"); err != nil || snap.Marks != (controlstate.Marks{}) || snap.Version != 3 {
		t.Fatalf("after clearing: %+v, %v", snap, err)
	}
}
