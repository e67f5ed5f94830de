package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// neverDisabled fails the test if the ventilator ever disabled its mapping or tripped.
func (r *rig) neverDisabled() {
	r.t.Helper()
	for _, l := range r.logLines(nil) {
		msg, _ := l["msg"].(string)
		if strings.Contains(msg, "mapping disabled") || l["trip"] == true || l["Tripped"] == 1.0 {
			r.t.Fatalf("the ventilator tripped or disabled its mapping: %v", l)
		}
	}
	if snap := r.controller(); snap.State.Tripped {
		r.t.Fatalf("controller %+v, want not tripped", snap.State)
	}
	if _, st := r.mapping(); st != "Enabled" {
		r.t.Fatalf("mapping %s, want Enabled", st)
	}
}

// A wake-up whose enable fails keeps the ventilator marked, and the next wake-ups try again until
// the mapping runs: no record is stranded.
func TestFailedEnableIsRetriedUntilTheMappingRuns(t *testing.T) {
	var failEnable atomic.Bool
	var injected atomic.Int64
	r := newRig(t, rigOptions{BatchSize: 5, WakeEvery: 500 * time.Millisecond, LambdaFault: func(method, path string, body []byte) bool {
		if failEnable.Load() && method == http.MethodPut && strings.Contains(path, "/event-source-mappings/") && bytes.Contains(body, []byte(`"Enabled":true`)) {
			injected.Add(1)
			return true
		}
		return false
	}})
	r.force(circuit.ForcedOpen, "e2e: provider down")
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprint("e", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventually("the mapping is disabled", func() bool { _, st := r.mapping(); return st == "Disabled" })

	failEnable.Store(true)
	r.force(circuit.NoOverride, "e2e: provider back")
	r.eventually("two wake-ups failed to enable the mapping", func() bool {
		return len(r.logLines(map[string]any{"msg": "wake-up: enabling the mapping failed; still marked tripped, the next wake-up retries"})) >= 2
	})
	if _, st := r.mapping(); st != "Disabled" {
		t.Fatalf("mapping %s while every enable fails", st)
	}
	if snap := r.controller(); !snap.Marks.Resuming && !snap.State.Tripped {
		t.Fatalf("controller %+v: the failed enable was forgotten", snap)
	}
	if n := r.provider.totalCalls(); n != 0 {
		t.Fatalf("%d provider calls while the mapping is disabled", n)
	}

	failEnable.Store(false)
	r.eventuallySucceeded(ids)
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	r.eventually("the mark is cleared", func() bool { s := r.controller(); return !s.Marks.Resuming && !s.State.Tripped })
	if _, st := r.mapping(); st != "Enabled" {
		t.Fatalf("mapping %s, want Enabled", st)
	}
	t.Logf("%d enable requests refused before the mapping ran", injected.Load())
}

// A HALF_OPEN circuit whose probe is held elsewhere denies the batches: the records come back for a
// retry, nothing is called, and the mapping stays enabled. Once the probe is released the
// ventilator probes, the circuit closes, and every record is processed once.
func TestHalfOpenDenialLeavesTheMappingEnabled(t *testing.T) {
	r := newRig(t, rigOptions{BatchSize: 3})
	now := time.Now()
	if err := r.store.Put(ctxT(t), circuit.Circuit{ID: r.circuit, State: circuit.HalfOpen, Version: 1, Since: now, UpdatedAt: now,
		Reason: "e2e: probing", Probes: []circuit.Probe{{Permit: "held-elsewhere", Until: now.Add(10 * time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, fmt.Sprint("h", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventually("several batches were held back", func() bool {
		return len(r.logLines(map[string]any{"msg": "circuit denied the batch without tripping: every record will be retried, the mapping stays enabled", "circuitState": "HALF_OPEN"})) >= 3
	})
	if n := r.provider.totalCalls(); n != 0 {
		t.Fatalf("%d provider calls while the probe is held elsewhere", n)
	}
	r.neverDisabled()

	if _, err := r.store.ReleaseProbe(ctxT(t), r.circuit, "held-elsewhere", time.Now()); err != nil {
		t.Fatal(err)
	}
	r.eventuallySucceeded(ids)
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	r.eventually("the circuit closes", func() bool { return r.circuitState().State == circuit.Closed })
	r.neverDisabled()
}

// An UNKNOWN circuit under BREAKERBOX_FAIL_MODE=closed denies the batches without tripping: the
// mapping stays enabled; once the circuit exists and allows, every record is processed once.
func TestUnknownCircuitLeavesTheMappingEnabled(t *testing.T) {
	r := newRig(t, rigOptions{BatchSize: 3, Env: []string{"BREAKERBOX_FAIL_MODE=closed"}})
	var ids []string
	for i := range 3 {
		ids = append(ids, fmt.Sprint("u", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventually("several batches were held back", func() bool {
		return len(r.logLines(map[string]any{"msg": "circuit denied the batch without tripping: every record will be retried, the mapping stays enabled", "circuitState": "UNKNOWN"})) >= 3
	})
	if n := r.provider.totalCalls(); n != 0 {
		t.Fatalf("%d provider calls through an unknown circuit under the closed fail mode", n)
	}
	r.neverDisabled()

	r.force(circuit.ForcedClosed, "e2e: the circuit exists now")
	r.eventuallySucceeded(ids)
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	r.neverDisabled()
}

// One poison record fails every attempt while the others succeed: it reaches the dead-letter queue
// after MAX_ATTEMPTS, the others keep flowing, and the mapping stays enabled throughout. (The
// circuit's low-traffic rule is set above MAX_ATTEMPTS, as it must be: otherwise the record's
// attempts in a row would open the circuit itself.)
func TestPoisonRecordGoesToTheDLQWhileOthersFlow(t *testing.T) {
	// The poison record comes back only once its batch is surely done: with the default 1 s a batch
	// slower than that on a loaded machine saw it delivered again to a second ventilator while its
	// first delivery was still being called, and both charged an attempt (4 calls, "failed 4
	// attempts"). Lambda asks for a visibility timeout of at least the function's timeout for this.
	r := newRig(t, rigOptions{Source: sqsSource, BatchSize: 2, Ventilators: 3, Visibility: 10 * time.Second,
		Env: []string{"MAX_ATTEMPTS=3", "BREAKERBOX_CONSECUTIVE_FAILURES=4"}})
	r.provider.set(func(id string, _ int) int {
		if id == "poison" {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	var ids []string
	r.put("", record("poison"))
	for i := range 10 {
		ids = append(ids, fmt.Sprint("g", i))
		r.put("", record(ids[i]))
	}
	r.start()
	// Records keep arriving until the poison record is dead-lettered.
	var letters []map[string]any
	for deadline, i := time.Now().Add(3*time.Minute), 10; len(letters) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the poison record never reached the dead-letter queue")
		}
		ids = append(ids, fmt.Sprint("g", i))
		r.put("", record(ids[len(ids)-1]))
		time.Sleep(200 * time.Millisecond)
		letters = r.deadLetters()
	}
	r.eventuallySucceeded(ids)
	if len(letters) != 1 || letters[0]["reason"] != deadletter.ReasonMaxAttempts || !strings.Contains(fmt.Sprint(letters[0]["record"]), "poison") {
		t.Fatalf("dead letters %v, want the poison record after its attempts", letters)
	}
	// Each charged attempt is a call; a call after its batch's last success is not charged (the
	// provider might have gone down under it), so the record may be called more often.
	if n := r.provider.callsOf("poison"); n < 3 || fmt.Sprint(letters[0]["attempts"]) != "3" {
		t.Errorf("poison record called %d times, dead-lettered after %v attempts; want MAX_ATTEMPTS (3) attempts", n, letters[0]["attempts"])
	}
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	r.neverDisabled()
}

// The circuit's own state change wakes a tripped ventilator through the EventBridge rule on its
// circuit: the mapping is re-enabled by the event's invoke, the schedule (rate(10 minutes), at its
// real pace) never fired, and the records are processed once.
func TestStateChangeEventWakesTheVentilator(t *testing.T) {
	r := newRig(t, rigOptions{BatchSize: 5, WakeOnEvent: true})
	r.force(circuit.ForcedOpen, "e2e: provider down")
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprint("w", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventually("the mapping is disabled", func() bool { _, st := r.mapping(); return st == "Disabled" })
	if snap := r.controller(); !snap.State.Tripped {
		t.Fatalf("controller %+v, want tripped", snap.State)
	}

	r.force(circuit.NoOverride, "e2e: provider back")
	resumed := r.firstReEnable()
	if resumed["trigger"] != "event" || resumed["eventTo"] != string(circuit.Closed) {
		t.Fatalf("re-enabled by %v (to %v), want the circuit's state-change event to CLOSED", resumed["trigger"], resumed["eventTo"])
	}
	r.eventuallySucceeded(ids)
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	if st := r.sched.Stats(); st.Fired != 0 || st.Events < 1 {
		t.Fatalf("scheduler %+v: want the event delivered and the schedule never fired", st)
	}
	if _, st := r.mapping(); st != "Enabled" {
		t.Fatalf("mapping %s, want Enabled", st)
	}
}

// A state change whose detail carries fields this version does not know (a publisher one layer
// version ahead) still wakes the ventilator through the rule on its circuit: the event's own invoke
// re-enables the mapping, the schedule never fires, and no invoke of the ventilator fails.
func TestStateChangeEventWithAnExtraFieldWakesTheVentilator(t *testing.T) {
	r := newRig(t, rigOptions{BatchSize: 5, WakeOnEvent: true})
	r.force(circuit.ForcedOpen, "e2e: provider down")
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprint("x", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventually("the mapping is disabled", func() bool { _, st := r.mapping(); return st == "Disabled" })

	r.forceAhead(circuit.NoOverride, "e2e: provider back")
	resumed := r.firstReEnable()
	if resumed["trigger"] != "event" || resumed["eventTo"] != string(circuit.Closed) {
		t.Fatalf("re-enabled by %v (to %v), want the event with extra detail fields", resumed["trigger"], resumed["eventTo"])
	}
	r.eventuallySucceeded(ids)
	if st := r.sched.Stats(); st.Fired != 0 || st.Events < 1 {
		t.Fatalf("scheduler %+v: want the event delivered and the schedule never fired", st)
	}
	if bad := r.logLines(map[string]any{"msg": "unreadable event"}); len(bad) > 0 {
		t.Fatalf("the ventilator could not read an event: %v", bad)
	}
}

// On SQS the controller's concurrency moves the mapping's ScalingConfig.MaximumConcurrency, and the
// poller runs that many ventilators at once.
func TestSQSMaximumConcurrencyMoves(t *testing.T) {
	// Pools of up to 10 calls per invocation (adaptive.SQSScaling): the mapping needs a third
	// invocation once the concurrency passes 20, which MAX_CONCURRENCY 30 allows.
	r := newRig(t, rigOptions{Source: sqsSource, BatchSize: 1, Ventilators: 4, Env: []string{"MAX_CONCURRENCY=30", "MAX_BATCH=10"}})
	r.provider.setDelay(100 * time.Millisecond)
	var ids []string
	for i := range 200 {
		ids = append(ids, fmt.Sprint("c", i))
		r.put("", record(ids[i]))
	}
	r.start()
	var seen []int32
	r.eventually("MaximumConcurrency reaches 3", func() bool {
		out, err := lambda.NewFromConfig(r.aws).GetEventSourceMapping(ctxT(t), &lambda.GetEventSourceMappingInput{UUID: aws.String(r.uuid)})
		if err != nil || out.ScalingConfig == nil {
			return false
		}
		n := aws.ToInt32(out.ScalingConfig.MaximumConcurrency)
		if len(seen) == 0 || seen[len(seen)-1] != n {
			seen = append(seen, n)
		}
		return n == 3
	})
	r.eventuallySucceeded(ids)
	most := 0
	for _, p := range r.pollers {
		most = max(most, p.Stats().MaxInFlight)
	}
	if most < 2 || most > 3 {
		t.Fatalf("at most %d ventilators at once, want between 2 and the MaximumConcurrency of 3", most)
	}
	if calls := slices.Max(r.provider.inFlightAtArrivals()); calls > 30 {
		t.Fatalf("%d calls in flight at once, more than MAX_CONCURRENCY 30", calls)
	}
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	t.Logf("MaximumConcurrency went %v; %d ventilators at once at most", seen, most)
}
