package handler

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// selfWakeEvent is the input of the ventilator's own schedule rule (SelfWake in template.yaml).
const selfWakeEvent = `{"source":"` + SelfWakeSource + `","detail-type":"` + SelfWakeDetailType + `"}`

// wakeWith invokes the handler with a wake-up event.
func (r *rig) wakeWith(event string) WakeResult {
	r.t.Helper()
	out, err := r.h.Invoke(r.ctx(), []byte(event))
	if err != nil {
		r.t.Fatalf("wake-up: %v", err)
	}
	res, ok := out.(WakeResult)
	if !ok {
		r.t.Fatalf("wake-up answered %T, want a WakeResult", out)
	}
	return res
}

// Issue 20, seed 17 of `make sim`: the provider fails, the ventilator trips itself at the floor,
// and the circuit stays CLOSED throughout (its window still full of earlier successes), so no
// Circuit State Change event ever comes. The ventilator's own schedule brings it back WAKE_AFTER
// after the trip, not the 10-minute backstop, and the outage costs no record an attempt.
func TestSelfTripWithTheCircuitClosedIsWokenByItsOwnSchedule(t *testing.T) {
	r := newRig(t, nil)
	closed := client.Circuit{ID: "inventory", State: StateClosed, Allowed: true, Version: 4}
	r.breaker.view, r.breaker.grant = closed, client.Decision{Allowed: true, State: StateClosed}
	r.worker.behave = fail
	tripAt := r.now
	if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); len(failed) != 2 {
		t.Fatalf("failures %v, want both records retried", failed)
	}
	s := r.controller()
	if _, on := r.mapping.get(); on || !s.Tripped {
		t.Fatalf("after two records failed at concurrency 1: mapping enabled %v, controller %+v; want a trip", on, s)
	}
	wakeAt := tripAt.Add(r.cfg.Adaptive.WakeAfter)
	if s.WakeAt != wakeAt.UnixMilli() {
		t.Fatalf("WakeAt %v, want the trip + WAKE_AFTER (%v)", time.UnixMilli(s.WakeAt).UTC(), wakeAt)
	}

	// The provider is still down and the circuit still CLOSED: neither the self-wake nor the
	// backstop re-enables before the trip's moment.
	r.now = wakeAt.Add(-time.Second)
	for _, ev := range []string{selfWakeEvent, `{"source":"aws.events","detail-type":"Scheduled Event"}`} {
		if res := r.wakeWith(ev); res.Action != WakeWaiting || !res.WakeAt.Equal(wakeAt) {
			t.Fatalf("wake-up %s a second early = %+v, want waiting until %v", ev, res, wakeAt)
		}
		if _, on := r.mapping.get(); on {
			t.Fatal("a wake-up before WakeAt enabled the mapping")
		}
	}

	// The first tick of its own schedule from then on resumes it at the floor; the circuit never
	// changed state (still version 4) and no state-change event was delivered.
	r.now = wakeAt.Add(40 * time.Second) // rate(1 minute): at most a minute late
	res := r.wakeWith(selfWakeEvent)
	if res.Action != WakeResumed || res.Trigger != TriggerSelf || res.Concurrency != 1 || res.CircuitState != StateClosed {
		t.Fatalf("self-wake = %+v, want resumed at concurrency 1 by the self trigger, circuit CLOSED", res)
	}
	size, on := r.mapping.get()
	if s := r.controller(); !on || s.Tripped || s.WakeAt != 0 || size != s.BatchSize {
		t.Fatalf("after the self-wake: mapping at %d enabled %v, controller %+v", size, on, s)
	}

	// The provider is back: the records the outage held back go through with all their attempts.
	r.worker.behave = nil
	if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); len(failed) != 0 {
		t.Fatalf("after the self-wake: failures %v, want none", failed)
	}
	if n := len(r.dlq.all()); n != 0 {
		t.Fatalf("%d dead letters: an outage must cost no record its attempts", n)
	}
}

// A trip by the circuit (OPEN) arms no self-wake: the circuit says when a call may go, its state
// change wakes the ventilator (or the backstop, once OPEN is past retryAt); the self-wake's tick
// leaves it alone, so that no probe goes into an outage every minute.
func TestSelfWakeLeavesACircuitTripToTheCircuit(t *testing.T) {
	r := newRig(t, nil)
	r.breaker.grant = client.Decision{State: StateOpen}
	r.invoke(kinesisEvent(rec("a")))
	if s := r.controller(); !s.Tripped || s.WakeAt != 0 {
		t.Fatalf("after an OPEN denial: controller %+v, want tripped without WakeAt", s)
	}
	r.breaker.view = client.Circuit{State: StateOpen, RetryAt: r.now.Add(30 * time.Second)}
	r.now = r.now.Add(time.Minute)
	if res := r.wakeWith(selfWakeEvent); res.Action != WakeIdle {
		t.Fatalf("self-wake after a circuit trip = %+v, want idle", res)
	}
	if _, on := r.mapping.get(); on {
		t.Fatal("the self-wake enabled the mapping after a circuit trip")
	}
	if res := r.wake(); res.Action != WakeResumed {
		t.Fatalf("backstop once OPEN is past retryAt = %+v, want resumed", res)
	}
}

// After a trip of its own, once the circuit has opened too, the circuit's own state change wakes
// the ventilator: the self-wake only serves a circuit that stays CLOSED (or FORCED_CLOSED).
func TestSelfWakeOnlyWhileTheCircuitIsClosed(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		view   client.Circuit
		action string
	}{
		{"closed", client.Circuit{State: StateClosed, Allowed: true}, WakeResumed},
		{"forced closed", client.Circuit{State: StateOpen, Override: ForcedClosed, Allowed: true}, WakeResumed},
		{"open past retryAt", client.Circuit{State: StateOpen, RetryAt: at.Add(-time.Minute)}, WakeIdle},
		{"half open", client.Circuit{State: StateHalfOpen}, WakeIdle},
		{"forced open", client.Circuit{State: StateClosed, Override: ForcedOpen}, WakeIdle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.now = at
			r.mapping.enabled = false
			r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true, WakeAt: at.Add(-time.Second).UnixMilli()})
			r.breaker.view = tc.view
			if res := r.wakeWith(selfWakeEvent); res.Action != tc.action {
				t.Fatalf("self-wake = %+v, want %s", res, tc.action)
			}
			if _, on := r.mapping.get(); on != (tc.action == WakeResumed) {
				t.Fatalf("mapping enabled %v after %s", on, tc.action)
			}
		})
	}
}

// The circuit's own event is news the trip did not have: it resumes before WakeAt.
func TestStateChangeEventResumesBeforeWakeAt(t *testing.T) {
	r := newRig(t, nil)
	r.mapping.enabled = false
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true, WakeAt: r.now.Add(time.Minute).UnixMilli()})
	ev := `{"detail-type":"Circuit State Change","source":"breakerbox","detail":{"id":"inventory","from":"OPEN","to":"CLOSED","version":9}}`
	if res := r.wakeWith(ev); res.Action != WakeResumed {
		t.Fatalf("state change to CLOSED before WakeAt = %+v, want resumed", res)
	}
}
