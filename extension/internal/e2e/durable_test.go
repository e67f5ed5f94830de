package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// quietRig is a default-model function frozen between invocations, with a 6 s window and a flush
// interval so long that only the flush after each invocation (on platform.runtimeDone, before the
// extension's /event/next) can write anything.
func quietRig(t *testing.T) *rig {
	return newRig(t, rigOptions{Freeze: true, MaxConcurrency: 1, Env: []string{
		"BREAKERBOX_WINDOW=6s", "BREAKERBOX_FLUSH_INTERVAL=1h", "BREAKERBOX_CONSECUTIVE_FAILURES=3",
	}})
}

// gap is longer than the window: each invocation's outcome is alone in its window.
const gap = 7 * time.Second

// A function invoked every few seconds more than its window, each call failing, trips its circuit
// in DynamoDB by the time the invocation that reported the third failure returns, with no further
// invocation and with the sandbox frozen in between.
func TestQuietFunctionTripsBeforeTheFreeze(t *testing.T) {
	t.Parallel()
	r := quietRig(t)
	for i := 1; i <= 3; i++ {
		if i > 1 {
			time.Sleep(gap)
		}
		res := r.invoke(step{Op: "client.do", ID: "inventory", Fail: true}).Results[0]
		if res.Err == "" || !contains(string(res.Body), `"called":true`) {
			t.Fatalf("invocation %d: %s %s; want the call made and failing", i, res.Body, res.Err)
		}
		if sb := r.fn.Sandboxes(); len(sb) != 1 || !sb[0].Frozen {
			t.Fatalf("invocation %d: sandbox not frozen after it: %+v", i, sb)
		}
		c, err := r.get("inventory")
		switch {
		case i < 3 && err == nil && c.State != circuit.Closed:
			t.Fatalf("after failure %d the circuit is %s, want CLOSED (threshold 3)", i, c.State)
		case i < 3 && err != nil && !errors.Is(err, store.ErrNotFound):
			t.Fatal(err)
		case i == 3 && err != nil:
			t.Fatalf("after the third failure: %v, want the circuit OPEN", err)
		case i == 3 && c.State != circuit.Open:
			t.Fatalf("right after the invocation that reported the third failure the circuit is %s (%s), want OPEN", c.State, c.Reason)
		}
	}
}

// The same quiet function with healthy calls writes nothing at all.
func TestQuietHealthyFunctionWritesNothing(t *testing.T) {
	t.Parallel()
	r := quietRig(t)
	var last runtimeReply
	for i := 1; i <= 3; i++ {
		if i > 1 {
			time.Sleep(gap)
		}
		last = r.invoke(step{Op: "client.do", ID: "inventory"}, get("/v1/stats"))
		if res := last.Results[0]; res.Err != "" {
			t.Fatalf("invocation %d: %s", i, res.Err)
		}
	}
	if st := decode[stats](t, last.Results[1]); st.StoreWrites != 0 || st.OutcomesReceived != 3 {
		t.Errorf("stats %s: want 3 outcomes received and 0 writes", last.Results[1].Body)
	}
	if _, err := r.get("inventory"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("circuit item after healthy calls: %v, want none written", err)
	}
}
