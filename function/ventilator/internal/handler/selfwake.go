package handler

import (
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// The ventilator's own wake: a schedule rule of its own (SelfWake in template.yaml, rate(1 minute))
// whose constant input is this event. A trip of the controller's own (calls failing at the floor)
// may leave the circuit CLOSED, and then no Circuit State Change event ever comes; the 10-minute
// backstop would leave the provider unserved for up to 10 minutes. The trip stores when the
// ventilator may try again (adaptive.State.WakeAt, WAKE_AFTER after the trip), and the first tick
// of its own rule from then on resumes it: the wait is bounded by WAKE_AFTER + one minute, by
// nothing but the ventilator's own configuration.
const (
	// SelfWakeSource and SelfWakeDetailType mark the self-wake rule's input:
	// {"source":"breakerbox.ventilator","detail-type":"Ventilator Wake"}.
	SelfWakeSource     = "breakerbox.ventilator"
	SelfWakeDetailType = "Ventilator Wake"
)

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
