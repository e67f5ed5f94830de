package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// replaying sends every PutItem twice and answers with the second reply, as the SDK does when a
// conditional write succeeded but its answer was lost and the request is retried.
type replaying struct{ *dynamodb.Client }

func (r replaying) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := r.Client.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return r.Client.PutItem(ctx, in, opts...)
}

// TestRetriedWriteIsNotALostRace: a conditional write retried after it succeeded fails its own
// condition. The store must recognise its own write, not report a conflict, and Update must not
// re-decide from it (which would apply the observation twice).
func TestRetriedWriteIsNotALostRace(t *testing.T) {
	plain, db := newStore(t, store.Options{})
	st := store.New(replaying{db}, plain.Table(), store.Options{Timeout: 10 * time.Second})
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures = 0
	fail := circuit.Observation{Outcomes: []circuit.Outcome{{OK: false}}}
	for i := 1; i <= 3; i++ {
		res, err := st.Observe(ctx, "retried", fail, p, t0)
		if err != nil {
			t.Fatalf("observation %d: %v", i, err)
		}
		if res.Circuit.Version != int64(i) || res.Circuit.ConsecutiveFailures != i {
			t.Fatalf("observation %d wrote version %d with %d failures: applied more than once", i, res.Circuit.Version, res.Circuit.ConsecutiveFailures)
		}
	}
	got, err := st.Get(ctx, "retried")
	if err != nil || got.Version != 3 || got.ConsecutiveFailures != 3 {
		t.Fatalf("stored %+v, %v; want version 3 with 3 failures", got, err)
	}
}

// overwritten sends every PutItem, lets another writer write over it (between), then sends it again
// and answers with that second reply: the SDK's retry of a write whose answer was lost, arriving
// after the circuit moved on.
type overwritten struct {
	*dynamodb.Client
	between func(ctx context.Context) error
}

func (o overwritten) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := o.Client.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	if err := o.between(ctx); err != nil {
		return nil, err
	}
	return o.Client.PutItem(ctx, in, opts...)
}

// TestRetriedWriteAfterAnotherWriterIsNotALostRace: the retry of a write that succeeded fails its
// condition on an item another writer has written over since. The store must still know its own
// write (the item keeps the marks of its latest writes), or Update would re-decide from the other's
// item and apply the observation twice (make test found one: version 201 for 200 observations).
func TestRetriedWriteAfterAnotherWriterIsNotALostRace(t *testing.T) {
	plain, db := newStore(t, store.Options{})
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures = 0
	fail := circuit.Observation{Outcomes: []circuit.Outcome{{OK: false}}}
	other := func(ctx context.Context) error {
		_, err := plain.Observe(ctx, "overwritten", fail, p, t0)
		return err
	}
	st := store.New(overwritten{Client: db, between: other}, plain.Table(), store.Options{Timeout: 10 * time.Second})
	for i := 1; i <= 3; i++ {
		res, err := st.Observe(ctx, "overwritten", fail, p, t0)
		if err != nil {
			t.Fatalf("observation %d: %v", i, err)
		}
		if want := int64(2*i - 1); res.Circuit.Version != want {
			t.Fatalf("observation %d wrote version %d, want %d (its own, before the other writer's)", i, res.Circuit.Version, want)
		}
	}
	got, err := st.Get(ctx, "overwritten")
	if err != nil || got.Version != 6 || got.ConsecutiveFailures != 6 {
		t.Fatalf("stored version %d with %d failures (%v); want 6 and 6: 3 observations of each writer, each applied once", got.Version, got.ConsecutiveFailures, err)
	}
	if n := len(got.WriteTokens); n != 6 {
		t.Fatalf("%d write tokens kept after 6 writes, want 6", n)
	}
}
