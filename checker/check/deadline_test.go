package check_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// deadlineStore is a store whose writes hang until their context ends (DynamoDB not answering, with
// a store timeout as long as the invocation), and that records the deadline of every call.
type deadlineStore struct {
	*store.Store
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *deadlineStore) saw(ctx context.Context) {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadlines = append(s.deadlines, d)
}

func (s *deadlineStore) GetMany(ctx context.Context, ids []string) (map[string]circuit.Circuit, error) {
	s.saw(ctx)
	return s.Store.GetMany(ctx, ids)
}

func (s *deadlineStore) GetConsistent(ctx context.Context, id string) (circuit.Circuit, error) {
	s.saw(ctx)
	return s.Store.GetConsistent(ctx, id)
}

func (s *deadlineStore) Put(ctx context.Context, c circuit.Circuit) error {
	s.saw(ctx)
	<-ctx.Done()
	return fmt.Errorf("put (test): %w", context.Cause(ctx))
}

func (s *deadlineStore) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	s.saw(ctx)
	<-ctx.Done()
	return circuit.Result{}, fmt.Errorf("update (test): %w", context.Cause(ctx))
}

// deadlinePublisher records the deadline of every publish.
type deadlinePublisher struct{ st *deadlineStore }

func (p deadlinePublisher) Publish(ctx context.Context, _ ...events.Detail) error {
	p.st.saw(ctx)
	return nil
}

// TestNothingRunsPastTheInvocationDeadline: with DynamoDB hanging, every store call and publish the
// checker makes ends before the invocation's deadline, leaving it time to answer: a handler still
// waiting at the deadline is a Lambda timeout, with its summary and log lost.
func TestNothingRunsPastTheInvocationDeadline(t *testing.T) {
	st, _ := newTable(t)
	ds := &deadlineStore{Store: st}
	h, err := check.New(ds, deadlinePublisher{ds}, check.Config{Policy: circuit.DefaultPolicy(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	svc := newServer(t, ok)
	deadline := time.Now().Add(4 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	sum, err := h.Handle(ctx, json.RawMessage(target("hung-store", svc.URL, "")))
	if err == nil || sum.Errors != 1 {
		t.Fatalf("err %v, summary %+v: want the unwritable check reported", err, sum)
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if len(ds.deadlines) == 0 {
		t.Fatal("no store call seen")
	}
	for i, d := range ds.deadlines {
		if d.IsZero() || d.After(deadline.Add(-100*time.Millisecond)) {
			t.Fatalf("call %d of %d had deadline %s, the invocation's is %s: want it ended before, with time to answer",
				i+1, len(ds.deadlines), d.Format(time.StampMilli), deadline.Format(time.StampMilli))
		}
	}
}

// TestProbeLongerThanTheInvocationSaysSo: a target whose timeout the invocation cannot hold (the
// function's timeout set too short for it) is never recorded, so its circuit would never see a
// timeout; the error says why and what to change, not only that the deadline came.
func TestProbeLongerThanTheInvocationSaysSo(t *testing.T) {
	r := newRig(t, nil)
	svc := newServer(t, hanging(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := r.h.Handle(ctx, json.RawMessage(target("long", svc.URL, `,"timeout":"1m"`)))
	if err == nil || sum.Errors != 1 {
		t.Fatalf("err %v, summary %+v: want the unrecorded probe reported", err, sum)
	}
	got := sum.Targets[0].StoreError
	for _, want := range []string{"probe not recorded", "invocation deadline near", "1m0s timeout", "function a timeout at least 2.2s longer"} {
		if !strings.Contains(got, want) {
			t.Fatalf("error %q does not say %q", got, want)
		}
	}
}
