package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/handler"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// selfWakeInput is the SelfWake rule's constant input in template.yaml.
const selfWakeInput = `{"source":"` + handler.SelfWakeSource + `","detail-type":"` + handler.SelfWakeDetailType + `"}`

// startSelfWakes starts a scheduler that fires the ventilator's own rule, rate(1 minute) with the
// template's input, compressed to every.
func (r *rig) startSelfWakes(every time.Duration) {
	r.t.Helper()
	s, err := lambdaenv.NewScheduler(lambdaenv.SchedulerConfig{
		Invoker: r.env, Speedup: float64(time.Minute) / float64(every),
		Rules: []lambdaenv.ScheduleRule{{Name: "self-wake-" + r.ventilator, Schedule: "rate(1 minute)", Function: r.ventilator,
			Input: []byte(selfWakeInput)}},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.sched = s
	r.wg.Go(func() { _ = s.Run(r.runCtx) })
}

// Issue 20: the provider fails while the circuit cannot leave CLOSED (an operator's FORCED_CLOSED
// here; in `make sim` a window full of earlier successes), so the ventilator trips on its own rule
// and no Circuit State Change event can ever come; there is no backstop schedule and no event rule
// either. Its own schedule resumes it WAKE_AFTER after the trip, and every record is processed
// once, none dead-lettered.
func TestSelfTripWithTheCircuitClosedResumesOnItsOwnSchedule(t *testing.T) {
	r := newRig(t, rigOptions{BatchSize: 3, Env: []string{"WAKE_AFTER=1s"}})
	r.force(circuit.ForcedClosed, "e2e: the circuit must not move")
	r.provider.failing()
	var ids []string
	for i := range 6 {
		ids = append(ids, fmt.Sprint("s", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventually("the ventilator tripped itself", func() bool {
		_, st := r.mapping()
		return st == "Disabled" && r.controller().State.Tripped
	})
	snap := r.controller()
	if snap.State.WakeAt == 0 {
		t.Fatalf("controller %+v: a trip of its own must arm its own wake (WakeAt)", snap.State)
	}
	if c := r.circuitState(); c.Label() != string(circuit.ForcedClosed) {
		t.Fatalf("circuit %s, want it still FORCED_CLOSED", c.Label())
	}

	r.provider.healthy()
	r.startSelfWakes(500 * time.Millisecond)
	resumed := r.firstReEnable()
	if resumed["trigger"] != handler.TriggerSelf {
		t.Fatalf("re-enabled by %v, want the ventilator's own schedule (%s)", resumed["trigger"], handler.TriggerSelf)
	}
	r.eventuallySucceeded(ids)
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	if letters := r.deadLetters(); len(letters) != 0 {
		t.Fatalf("%d records dead-lettered by the outage: %v", len(letters), letters)
	}
	if _, st := r.mapping(); st != "Enabled" {
		t.Fatalf("mapping %s, want Enabled", st)
	}
}
