package handler

import (
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// The ventilator's own wake: a schedule rule of its own (SelfWake in template.yaml, rate(1 minute))
// whose constant input is this event. A trip of the controller's own (calls failing at the floor)
// may leave the circuit CLOSED, and then no Circuit State Change event ever comes; the 10-minute
// backstop would leave the provider unserved for up to 10 minutes. The trip stores when the
// ventilator may try again (adaptive.State.WakeAt, WAKE_AFTER after the trip), and the first tick
// of its own rule from then on resumes it while the circuit is still CLOSED: the wait is bounded by
// WAKE_AFTER + one minute, by nothing but the ventilator's own configuration. Once the circuit has
// left CLOSED, a state change of its own is bound to come and wakes the ventilator as after any
// circuit trip (see circuitSays).
const (
	// SelfWakeSource and SelfWakeDetailType mark the self-wake rule's input:
	// {"source":"breakerbox.ventilator","detail-type":"Ventilator Wake"}.
	SelfWakeSource     = "breakerbox.ventilator"
	SelfWakeDetailType = "Ventilator Wake"
)

// circuitSays reports, for the self-wake only, whether the circuit rather than the ventilator's own
// schedule decides when to resume, and why: after a trip by the circuit (no WakeAt), or once the
// circuit has left CLOSED. An OPEN or HALF_OPEN circuit moves on by itself (the checker, an acquire
// past retryAt) and its state change wakes the ventilator, with the backstop behind it; resuming on
// every tick there would send a probe into the outage each minute, and a probe of a slow provider
// hangs for its whole INVOKE_TIMEOUT (in `make sim`, 30 s providers then took 449 s rather than
// 102 s to recover).
func circuitSays(s adaptive.State, trigger string, c client.Circuit) (bool, string) {
	switch {
	case trigger != TriggerSelf:
		return false, ""
	case s.WakeAt == 0:
		return true, "tripped by the circuit: its state change (or the backstop) wakes the ventilator, not the self-wake"
	case c.Override == ForcedClosed, c.State == StateClosed && c.Override != ForcedOpen:
		return false, ""
	}
	label := c.State
	if c.Override != "" {
		label = c.Override
	}
	return true, fmt.Sprintf("circuit %s: its state change (or the backstop) wakes the ventilator, not the self-wake", label)
}

// notYet reports whether a scheduled wake-up (the self-wake or the backstop) comes before the
// moment the controller's own trip set, and if so why. The circuit's event is never held back by
// it: a circuit that went to HALF_OPEN or CLOSED is news the trip did not have.
func notYet(s adaptive.State, trigger string, now time.Time) (bool, string) {
	if trigger == TriggerEvent || s.WakeAt == 0 || now.UnixMilli() >= s.WakeAt {
		return false, ""
	}
	at := time.UnixMilli(s.WakeAt).UTC()
	return true, fmt.Sprintf("tripped by failures at the smallest concurrency: the self-wake resumes it from %s", at.Format(time.RFC3339))
}
