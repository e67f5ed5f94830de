package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

// DynamoDB stops: the extension answers within the store timeout (plus a margin for a loaded
// machine), with the last good copy marked stale for a known circuit and the fail mode for an unknown
// one; when DynamoDB is back it recovers by itself.
func TestStoreOutageServesStaleAndRecovers(t *testing.T) {
	const storeTimeout = 300 * time.Millisecond
	const margin = 2 * time.Second // generous: two cores shared with other work, race detector on
	moto := mototest.Own(t)
	r := newRig(t, rigOptions{Moto: moto, Env: []string{
		"BREAKERBOX_STORE_TIMEOUT=" + storeTimeout.String(), "BREAKERBOX_CACHE_TTL=500ms",
		"BREAKERBOX_FAIL_MODE=closed", "BREAKERBOX_CIRCUITS=inventory",
	}})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now(), Reason: "healthy"})
	if v := decode[view](t, r.invoke(get("/v1/circuits/inventory")).Results[0]); v.Stale || v.State != "CLOSED" {
		t.Fatalf("before the outage: %+v", v)
	}

	moto.Stop()
	time.Sleep(time.Second) // the copy is past its TTL
	res := r.invoke(
		get("/v1/circuits/inventory"),
		get("/v1/circuits/inventory"),
		get("/v1/circuits/nobody"),
		post("/v1/circuits/nobody/acquire", ""),
		post("/v1/circuits/inventory/acquire", ""),
		get("/v1/stats"),
	).Results
	for i, rs := range res[:5] {
		if d := time.Duration(rs.Ms * float64(time.Millisecond)); d > storeTimeout+margin {
			t.Errorf("step %d took %s with DynamoDB down, want at most the store timeout %s + %s", i, d, storeTimeout, margin)
		}
	}
	for _, rs := range res[:2] {
		if v := decode[view](t, rs); rs.Status != 200 || !v.Stale || v.State != "CLOSED" || v.Reason != "healthy" {
			t.Errorf("known circuit with DynamoDB down: %d %s, want the last good copy with stale:true", rs.Status, rs.Body)
		}
	}
	if res[2].Status != 503 || errorCode(t, res[2]) != "store_unavailable" {
		t.Errorf("unknown circuit with DynamoDB down: %d %s, want 503 store_unavailable", res[2].Status, res[2].Body)
	}
	if d := decode[decision](t, res[3]); d.Allowed || d.State != "UNKNOWN" || !d.Stale {
		t.Errorf("acquire of an unknown circuit, fail mode closed: %s", res[3].Body)
	}
	if d := decode[decision](t, res[4]); !d.Allowed || !d.Stale || d.State != "CLOSED" {
		t.Errorf("acquire of a known CLOSED circuit from its stale copy: %s", res[4].Body)
	}
	if st := decode[stats](t, res[5]); st.StoreErrors < 1 || st.StaleAnswers < 2 {
		t.Errorf("stats: %s", res[5].Body)
	}

	// DynamoDB comes back (empty: moto keeps no state), the table and the circuit with it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := moto.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(moto.AWSConfig())
	if err := store.CreateTable(ctx, db, r.table); err != nil {
		t.Fatal(err)
	}
	// Written over whatever is there, not with a create-only put: on a loaded machine the first
	// answer of a moto just restarted can be lost, and the SDK's retry of a put that landed then
	// finds its own item ("circuit changed concurrently", seen once beside a second make test).
	if _, err := r.store.Update(ctx, "inventory", func(prev circuit.Circuit) (circuit.Result, error) {
		now := time.Now()
		next := circuit.Circuit{ID: "inventory", State: circuit.Open, Since: now, RetryAt: now.Add(time.Hour), Reason: "back",
			Version: prev.Version + 1, UpdatedAt: now}
		return circuit.Result{Circuit: next, Changed: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the extension to read DynamoDB again", func() bool {
		v := decode[view](t, r.invoke(get("/v1/circuits/inventory")).Results[0])
		return !v.Stale && v.State == "OPEN" && v.Reason == "back"
	})
}
