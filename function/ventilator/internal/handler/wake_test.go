package handler

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

func TestWakeUp(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		view   Circuit
		action string
	}{
		{"open before retryAt", Circuit{State: StateOpen, RetryAt: at.Add(time.Second)}, WakeWaiting},
		{"open without retryAt", Circuit{State: StateOpen}, WakeWaiting},
		{"forced open", Circuit{State: StateClosed, Override: ForcedOpen}, WakeWaiting},
		{"open past retryAt", Circuit{State: StateOpen, RetryAt: at}, WakeResumed},
		{"half open", Circuit{State: StateHalfOpen}, WakeResumed},
		{"closed", Circuit{State: StateClosed, Allowed: true}, WakeResumed},
		{"forced closed", Circuit{State: StateOpen, Override: ForcedClosed, Allowed: true}, WakeResumed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.now = at
			r.mapping.enabled, r.mapping.batchSize = false, 1
			r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true, FloorFailures: 1})
			r.breaker.view = tc.view
			res := r.wake()
			if res.Action != tc.action || res.Mapping != "m-1" {
				t.Fatalf("wake-up = %+v, want %s", res, tc.action)
			}
			size, on := r.mapping.get()
			s := r.controller()
			if tc.action == WakeResumed {
				if !on || size != 1 || s.Tripped || s.BatchSize != 1 || res.BatchSize != 1 {
					t.Fatalf("resumed: mapping at %d enabled %v, controller %+v", size, on, s)
				}
			} else if on || !s.Tripped || res.Reason == "" {
				t.Fatalf("waiting: mapping enabled %v, controller %+v, reason %q", on, s, res.Reason)
			}
		})
	}
}

func TestWakeUpLeavesAnUntrippedMappingAlone(t *testing.T) {
	r := newRig(t, nil)
	r.mapping.enabled = false // disabled by an operator
	if res := r.wake(); res.Action != WakeIdle || len(r.mapping.applies) != 0 {
		t.Fatalf("wake-up = %+v with %d mapping changes; want idle and none", res, len(r.mapping.applies))
	}
}

func TestTripThenWakeUpThenRecover(t *testing.T) {
	r := newRig(t, nil)
	r.worker.behave = fail
	r.invoke(kinesisEvent(rec("a")))
	if _, on := r.mapping.get(); on {
		t.Fatal("not disabled after failing at 1")
	}
	r.breaker.view = Circuit{State: StateOpen, RetryAt: r.now.Add(time.Minute)}
	if res := r.wake(); res.Action != WakeWaiting {
		t.Fatalf("wake-up while OPEN = %+v", res)
	}
	r.now = r.now.Add(2 * time.Minute)
	if res := r.wake(); res.Action != WakeResumed {
		t.Fatalf("wake-up past retryAt = %+v", res)
	}
	r.worker.behave = nil
	r.breaker.grant = Grant{Allowed: true, State: StateHalfOpen, Permit: "p"}
	if failed := r.invoke(kinesisEvent(rec("a"))); len(failed) != 0 {
		t.Fatalf("probe failures %v", failed)
	}
	if size, on := r.mapping.get(); !on || size != 2 {
		t.Fatalf("after a good probe: mapping at %d enabled %v; want 2 and enabled", size, on)
	}
}
