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
