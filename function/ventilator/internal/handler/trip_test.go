package handler

import (
	"fmt"
	"testing"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Only OPEN and FORCED_OPEN trip. A HALF_OPEN denial (the probe is held elsewhere) and an UNKNOWN
// circuit denied by the fail mode return every record for a retry, call nothing, and leave the
// mapping and the controller alone.
func TestOnlyOpenOrForcedOpenTrips(t *testing.T) {
	cases := []struct {
		name  string
		grant client.Decision
		trip  bool
	}{
		{"HALF_OPEN, probe held elsewhere", client.Decision{State: StateHalfOpen, Reason: "probe held elsewhere"}, false},
		{"UNKNOWN, fail mode closed", client.Decision{State: "UNKNOWN", Reason: "no such circuit"}, false},
		{"OPEN", client.Decision{State: StateOpen}, true},
		{"FORCED_OPEN", client.Decision{State: StateOpen, Override: ForcedOpen}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.mapping.batchSize, r.mapping.enabled = 4, true
			r.setController(adaptive.State{Policy: "aimd", BatchSize: 4})
			r.breaker.grant = c.grant
			failed := r.invoke(kinesisEvent(rec("a"), rec("b")))
			if len(failed) != 2 || r.worker.total() != 0 {
				t.Fatalf("failures %v, %d calls; want both records retried and nothing called", failed, r.worker.total())
			}
			size, on := r.mapping.get()
			s := r.controller()
			if got := !on || s.Tripped; got != c.trip {
				t.Fatalf("mapping enabled %v at %d, controller %+v: tripped %v, want %v", on, size, s, got, c.trip)
			}
			if !c.trip && (len(r.mapping.applies) != 0 || s.BatchSize != 4) {
				t.Fatalf("a non-trip changed the mapping (%v) or the controller (%+v)", r.mapping.applies, s)
			}
			l := r.emf.lines(t)
			if len(l) != 1 || l[0]["circuitState"] != c.grant.State || fmt.Sprint(l[0]["Tripped"]) != map[bool]string{true: "1", false: "0"}[c.trip] {
				t.Fatalf("EMF %v", l)
			}
		})
	}
}
