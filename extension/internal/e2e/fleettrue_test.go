package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// outcomesBody is a report of ok+fail calls with the failures spread out (never more in a row than
// the counts force).
func outcomesBody(ok, fail int) string {
	n := ok + fail
	outs := make([]map[string]any, n)
	for i := range outs {
		outs[i] = map[string]any{"ok": true, "latencyMs": 5}
	}
	for i := 0; i < fail; i++ {
		outs[(i*n)/fail] = map[string]any{"ok": false, "latencyMs": 5, "error": "status 503"}
	}
	b, _ := json.Marshal(map[string]any{"outcomes": outs})
	return string(b)
}

// call is one invocation's use of the breaker: ask, then report ok+fail calls.
func call(id string, ok, fail int) []step {
	return []step{post("/v1/circuits/"+id+"/acquire", ""), post("/v1/circuits/"+id+"/outcomes", outcomesBody(ok, fail))}
}

// TestTwoEnvironmentsDecideAsTheFleet is issue 12's case with the real extension binary in two
// Lambda environments on one table. A reports 200 successes first, then B reports 5 failures in
// every 10 calls while both keep being invoked: the circuit never leaves CLOSED, because A, seeing
// the window marked bad, flushes its successes and the fleet's rate (about 2 % at first) is what is
// decided on. Then B alone, 8 failures in 10 with no other traffic, trips.
func TestTwoEnvironmentsDecideAsTheFleet(t *testing.T) {
	env := []string{"BREAKERBOX_CACHE_TTL=1s", "BREAKERBOX_WINDOW=30s", "BREAKERBOX_CIRCUITS=pay"}
	a := newRig(t, rigOptions{MaxConcurrency: 1, Env: env})
	b := newRig(t, rigOptions{MaxConcurrency: 1, Env: env, Table: a.table})
	a.put(circuit.Circuit{ID: "pay", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})

	a.invoke(append(call("pay", 200, 0), get("/v1/stats"))...)
	time.Sleep(300 * time.Millisecond) // a few flush intervals: a healthy buffer must still write nothing
	st := decode[map[string]any](t, a.invoke(get("/v1/stats")).Results[0])
	if st["storeWrites"] != float64(0) {
		t.Fatalf("A's 200 successes cost writes: %v", st)
	}
	// Long enough for the mark to settle and for several window buckets to complete (5s each).
	deadline := time.Now().Add(25 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		b.invoke(call("pay", 5, 5)...)
		a.invoke(call("pay", 20, 0)...)
		c, err := a.get("pay")
		if err != nil {
			t.Fatal(err)
		}
		if c.State != circuit.Closed {
			t.Fatalf("invocation %d: %s (%s); the fleet's failure rate is far below 50 %%", i, c.State, c.Reason)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if c, _ := a.get("pay"); c.BadSince.IsZero() {
		t.Fatalf("B's failures never marked the window: %+v", c)
	}
	st = decode[map[string]any](t, a.invoke(get("/v1/stats")).Results[0])
	if w, _ := st["storeWrites"].(float64); w == 0 {
		t.Fatalf("A never flushed its successes while the window was marked bad: %v", st)
	}

	// B alone: 8 failures in every 10 calls and no other traffic trips the circuit.
	b.put(circuit.Circuit{ID: "solo", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})
	var c circuit.Circuit
	waitFor(t, 3*time.Minute, "B alone to trip the circuit", func() bool {
		b.invoke(call("solo", 2, 8)...)
		var err error
		c, err = b.get("solo")
		return err == nil && c.State == circuit.Open
	})
	if !strings.HasPrefix(c.Reason, "failure rate 80% ≥ 50% over") {
		t.Fatalf("tripped for %q, want the failure rate", c.Reason)
	}
}

// ctxE2E bounds one direct AWS call of a test.
func ctxE2E(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
