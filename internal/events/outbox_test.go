package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// memUpdater is a one-goroutine-at-a-time Updater over a map, enough for the outbox's writes.
type memUpdater struct {
	mu sync.Mutex
	m  map[string]circuit.Circuit
}

func (u *memUpdater) Update(_ context.Context, id string, decide store.Decide) (circuit.Result, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, err := decide(u.m[id])
	if err == nil && r.Changed {
		u.m[id] = r.Circuit
	}
	return r, err
}

type flakySender struct {
	fail bool
	got  []Detail
}

func (f *flakySender) Publish(_ context.Context, ds ...Detail) error {
	if f.fail {
		return errors.New("bus unreachable")
	}
	f.got = append(f.got, ds...)
	return nil
}

// TestOutboxLosesNothingAndSendsOnce: a failed publish is recorded in the item; the next writer
// publishes it with its own transition and clears it; nothing is sent twice.
func TestOutboxLosesNothingAndSendsOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	u := &memUpdater{m: map[string]circuit.Circuit{}}
	snd := &flakySender{fail: true}
	o := &Outbox{Sender: snd, Store: u}
	ctx := context.Background()

	trip, _ := u.Update(ctx, "inv", func(prev circuit.Circuit) (circuit.Result, error) {
		return circuit.Force(circuit.Circuit{ID: "inv", State: circuit.Closed, Version: 1, Since: t0}, circuit.ForcedOpen, "maintenance", t0), nil
	})
	if err := o.Send(ctx, "inv", trip); err == nil {
		t.Fatal("a failed publish was not reported")
	}
	if got := u.m["inv"].Unpublished; len(got) != 1 || got[0].Version != 2 || got[0].To != "FORCED_OPEN" {
		t.Fatalf("outbox after the failed publish: %+v", got)
	}
	snd.fail = false
	clear, _ := u.Update(ctx, "inv", func(prev circuit.Circuit) (circuit.Result, error) {
		return circuit.Force(prev, circuit.NoOverride, "done", t0.Add(time.Minute)), nil
	})
	if err := o.Send(ctx, "inv", clear); err != nil {
		t.Fatal(err)
	}
	if len(snd.got) != 2 || snd.got[0].Version != 2 || snd.got[1].Version != 4 || snd.got[1].To != "CLOSED" {
		t.Fatalf("published %+v, want version 2 (recorded) then 4", snd.got)
	}
	if got := u.m["inv"]; len(got.Unpublished) != 0 || got.State != circuit.Closed {
		t.Fatalf("after the next writer: %+v, want an empty outbox", got)
	}
	// A write without a transition and an empty outbox publishes nothing.
	if err := o.Send(ctx, "inv", circuit.Result{Circuit: u.m["inv"], Changed: true}); err != nil || len(snd.got) != 2 {
		t.Fatalf("published %d events for a write without a transition", len(snd.got))
	}
}

// hangingSender and hangingUpdater hold every call until its context ends.
type hangingSender struct{}

func (hangingSender) Publish(ctx context.Context, _ ...Detail) error {
	<-ctx.Done()
	return ctx.Err()
}

type hangingUpdater struct{}

func (h *hangingUpdater) Update(ctx context.Context, _ string, _ store.Decide) (circuit.Result, error) {
	<-ctx.Done()
	return circuit.Result{}, ctx.Err()
}

// TestOutboxKeepsTheCallersDeadline: with the bus and the store both holding every call, Send
// returns by the caller's deadline (a SHUTDOWN's, an invocation's), not outboxWriteTimeout after it.
func TestOutboxKeepsTheCallersDeadline(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	trip := circuit.Force(circuit.Circuit{ID: "inv", State: circuit.Closed, Version: 1, Since: t0}, circuit.ForcedOpen, "maintenance", t0)
	o := &Outbox{Sender: hangingSender{}, Store: &hangingUpdater{}}
	end := time.Now().Add(200 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	if err := o.Send(ctx, "inv", trip); err == nil {
		t.Fatal("a failed publish was not reported")
	}
	// Before the fix the outbox write ran outboxWriteTimeout past the deadline; half of it is a bound
	// no scheduling delay reaches.
	if late := time.Since(end); late > outboxWriteTimeout/2 {
		t.Fatalf("Send returned %s after the caller's deadline", late)
	}
}

// refusingSender publishes every detail but those of the versions it refuses, as EventBridge does
// when it accepts part of a PutEvents call.
type refusingSender struct {
	refuse map[int64]bool
	got    []Detail
}

func (r *refusingSender) Publish(_ context.Context, ds ...Detail) error {
	var lost []Detail
	for _, d := range ds {
		if r.refuse[d.Version] {
			lost = append(lost, d)
			continue
		}
		r.got = append(r.got, d)
	}
	if len(lost) == 0 {
		return nil
	}
	return &NotPublished{Details: lost, Err: errors.New("bus refused some events")}
}

// When the bus takes part of a publish, the outbox keeps exactly what it refused: a recorded
// transition it took is cleared (before, it stayed and was published again by the next writer),
// and the new transition is recorded only if it was refused.
func TestOutboxKeepsOnlyWhatTheBusRefused(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		refuse int64
		want   int64 // the one version left in the outbox
	}{
		{"the new transition refused", 4, 4}, // 2 the trip, 3 its recording, 4 the clear
		{"the recorded one refused", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &memUpdater{m: map[string]circuit.Circuit{}}
			down := &flakySender{fail: true}
			trip, _ := u.Update(ctx, "inv", func(circuit.Circuit) (circuit.Result, error) {
				return circuit.Force(circuit.Circuit{ID: "inv", State: circuit.Closed, Version: 1, Since: t0}, circuit.ForcedOpen, "maintenance", t0), nil
			})
			_ = (&Outbox{Sender: down, Store: u}).Send(ctx, "inv", trip) // version 2, recorded
			if got := u.m["inv"].Unpublished; len(got) != 1 || got[0].Version != 2 {
				t.Fatalf("outbox after the failed publish: %+v", got)
			}
			clear, _ := u.Update(ctx, "inv", func(prev circuit.Circuit) (circuit.Result, error) {
				return circuit.Force(prev, circuit.NoOverride, "done", t0.Add(time.Minute)), nil
			})
			snd := &refusingSender{refuse: map[int64]bool{tc.refuse: true}}
			if err := (&Outbox{Sender: snd, Store: u}).Send(ctx, "inv", clear); err == nil {
				t.Fatal("a partly refused publish was not reported")
			}
			got := u.m["inv"].Unpublished
			if len(got) != 1 || got[0].Version != tc.want {
				t.Fatalf("outbox %+v, want only version %d, the one the bus refused", got, tc.want)
			}
			if len(snd.got) != 1 || snd.got[0].Version == tc.refuse {
				t.Fatalf("published %+v", snd.got)
			}
		})
	}
}
