package e2e

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// On Lambda Managed Instances (no INVOKE lets go of a call never reported), a call the Go client's
// caller cancels is cancelled at the real extension and counts nothing: before, it stayed under way
// and the background flusher counted it as a slow call (and wrote it) once it passed the threshold.
func TestCancelledCallCountsNothing(t *testing.T) {
	r := newRig(t, rigOptions{Managed: 2, Env: []string{"BREAKERBOX_FLUSH_INTERVAL=200ms", "BREAKERBOX_SLOW_CALL=300ms"}})
	r.put(circuit.Circuit{ID: "sibling", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})
	rep := r.invoke(
		step{Op: "client.doCancelled", ID: "sibling", Ms: 50},
		step{Op: "sleep", Ms: 1500}, // five flush intervals past the threshold
		get("/v1/stats"),
	)
	if res := rep.Results[0]; res.Err != "" || string(res.Body) != `{"cancelled":true}` {
		t.Fatalf("client.doCancelled answered %s %s", res.Err, res.Body)
	}
	st := decode[stats](t, rep.Results[2])
	if st.CallsUnderWay != 0 || st.StoreWrites != 0 || st.OutcomesReceived != 1 {
		t.Fatalf("stats %s: want no call under way, no write (nothing counted), the cancellation received", rep.Results[2].Body)
	}
}
