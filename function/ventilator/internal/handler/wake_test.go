package handler

import (
	"fmt"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

func TestWakeUp(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		view   client.Circuit
		action string
	}{
		{"open before retryAt", client.Circuit{State: StateOpen, RetryAt: at.Add(time.Second)}, WakeWaiting},
		{"open without retryAt", client.Circuit{State: StateOpen}, WakeWaiting},
		{"forced open", client.Circuit{State: StateClosed, Override: ForcedOpen}, WakeWaiting},
		{"open past retryAt", client.Circuit{State: StateOpen, RetryAt: at}, WakeResumed},
		{"half open", client.Circuit{State: StateHalfOpen}, WakeResumed},
		{"closed", client.Circuit{State: StateClosed, Allowed: true}, WakeResumed},
		{"forced closed", client.Circuit{State: StateOpen, Override: ForcedClosed, Allowed: true}, WakeResumed},
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
	r.breaker.view = client.Circuit{State: StateOpen, RetryAt: r.now.Add(time.Minute)}
	if res := r.wake(); res.Action != WakeWaiting {
		t.Fatalf("wake-up while OPEN = %+v", res)
	}
	r.now = r.now.Add(2 * time.Minute)
	if res := r.wake(); res.Action != WakeResumed {
		t.Fatalf("wake-up past retryAt = %+v", res)
	}
	r.worker.behave = nil
	r.breaker.grant = client.Decision{Allowed: true, State: StateHalfOpen, Permit: "p"}
	if failed := r.invoke(kinesisEvent(rec("a"))); len(failed) != 0 {
		t.Fatalf("probe failures %v", failed)
	}
	if size, on := r.mapping.get(); !on || size != 2 {
		t.Fatalf("after a good probe: mapping at %d enabled %v; want 2 and enabled", size, on)
	}
}

func TestWakeUpOfAnUnknownCircuitResumes(t *testing.T) {
	r := newRig(t, nil)
	r.mapping.enabled = false
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	r.breaker.viewErr = &client.Error{Status: 404, Code: "not_found", Message: "no circuit inventory"}
	if res := r.wake(); res.Action != WakeResumed {
		t.Fatalf("wake-up = %+v", res)
	}
	r.breaker.viewErr = fmt.Errorf("read: %w", client.ErrUnreachable)
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	if _, err := r.h.Invoke(r.ctx(), []byte(`{"source":"aws.events","detail-type":"Scheduled Event"}`)); err == nil {
		t.Fatal("a wake-up that cannot read the circuit succeeded")
	}
}
