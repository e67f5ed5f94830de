package handler

import (
	"errors"
	"fmt"
	"strings"
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
				if !on || size != s.BatchSize || s.Tripped || s.Concurrency != 1 || res.BatchSize != s.BatchSize || res.Concurrency != 1 {
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
	r.invoke(kinesisEvent(rec("b")))
	if _, on := r.mapping.get(); on {
		t.Fatal("not disabled after two records failed at concurrency 1")
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
	if s := r.controller(); s.Concurrency != 2 {
		t.Fatalf("after a good probe: controller %+v, want concurrency 2", s)
	}
	if size, on := r.mapping.get(); !on || size != r.controller().BatchSize {
		t.Fatalf("after a good probe: mapping at %d enabled %v; want the controller's batch size, enabled", size, on)
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

// A wake-up whose enable fails keeps the "tripped" mark (Resuming), fails the invoke so that it is
// retried, and the next wake-up enables the mapping and clears the mark.
func TestFailedEnableIsRetriedByTheNextWakeUp(t *testing.T) {
	r := newRig(t, nil)
	r.mapping.enabled, r.mapping.batchSize = false, 1
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	r.mapping.err = errors.New("ResourceInUseException: mapping busy")
	if _, err := r.h.Invoke(r.ctx(), []byte(`{"source":"aws.events","detail-type":"Scheduled Event"}`)); err == nil {
		t.Fatal("a wake-up whose enable failed succeeded")
	}
	snap, err := r.state.Get(r.ctx(), "m-1")
	if err != nil || !snap.Marks.Resuming {
		t.Fatalf("after a failed enable: %+v, %v; want the Resuming mark", snap, err)
	}
	r.mapping.err = nil
	if res := r.wake(); res.Action != WakeResumed {
		t.Fatalf("second wake-up = %+v, want resumed", res)
	}
	if _, on := r.mapping.get(); !on {
		t.Fatal("mapping still disabled")
	}
	if snap, err = r.state.Get(r.ctx(), "m-1"); err != nil || snap.Marks.Resuming || snap.State.Tripped {
		t.Fatalf("after the enable: %+v, %v; want no mark", snap, err)
	}
	if res := r.wake(); res.Action != WakeIdle {
		t.Fatalf("third wake-up = %+v, want idle", res)
	}
}

// The circuit's own state-change event wakes the ventilator when it is about its circuit and goes
// to HALF_OPEN or CLOSED; other events leave everything alone; a malformed detail fails the invoke.
func TestStateChangeEventWakesUp(t *testing.T) {
	event := func(id, to string) []byte {
		return []byte(`{"version":"0","id":"e-1","detail-type":"Circuit State Change","source":"breakerbox","account":"123456789012",` +
			`"time":"2026-03-04T10:00:00Z","region":"us-east-1","resources":[],"detail":{"id":"` + id + `","from":"OPEN","to":"` + to +
			`","reason":"probe ok","at":"2026-03-04T10:00:00Z","version":7}}`)
	}
	r := newRig(t, nil)
	r.mapping.enabled = false
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	for _, ev := range [][]byte{event("other", StateClosed), event("inventory", StateOpen)} {
		out, err := r.h.Invoke(r.ctx(), ev)
		if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeIdle || res.Trigger != TriggerEvent {
			t.Fatalf("event %s = %+v, %v; want idle", ev, out, err)
		}
	}
	if _, on := r.mapping.get(); on {
		t.Fatal("an unrelated event enabled the mapping")
	}
	r.breaker.view = client.Circuit{State: StateHalfOpen}
	out, err := r.h.Invoke(r.ctx(), event("inventory", StateHalfOpen))
	if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeResumed || res.Trigger != TriggerEvent {
		t.Fatalf("HALF_OPEN event = %+v, %v; want resumed by the event", out, err)
	}
	if _, on := r.mapping.get(); !on {
		t.Fatal("mapping still disabled")
	}
	// An event newer than the extension's cached copy (still OPEN until later) wins over it.
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	r.mapping.enabled = false
	r.breaker.view = client.Circuit{State: StateOpen, Version: 6, RetryAt: r.now.Add(time.Minute)}
	out, err = r.h.Invoke(r.ctx(), event("inventory", StateHalfOpen)) // version 7
	if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeResumed || res.CircuitState != StateHalfOpen {
		t.Fatalf("event newer than the cached OPEN = %+v, %v; want resumed", out, err)
	}
	// The same when the cached copy still carries the override the event's version cleared.
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	r.mapping.enabled = false
	r.breaker.view = client.Circuit{State: StateOpen, Override: ForcedOpen, Version: 6}
	out, err = r.h.Invoke(r.ctx(), event("inventory", StateClosed)) // version 7
	if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeResumed {
		t.Fatalf("event newer than the cached FORCED_OPEN = %+v, %v; want resumed", out, err)
	}
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	r.breaker.view = client.Circuit{State: StateOpen, Version: 8, RetryAt: r.now.Add(time.Minute)}
	out, err = r.h.Invoke(r.ctx(), event("inventory", StateHalfOpen)) // version 7: older than the copy
	if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeWaiting {
		t.Fatalf("event older than the cached OPEN = %+v, %v; want waiting", out, err)
	}
}

// A Circuit State Change detail is read forward-compatibly: a field the ventilator does not know
// (from a publisher one version ahead) is ignored and the event still wakes it; a missing or
// ill-typed required field still fails the invoke with an error that names it.
func TestStateChangeEventIsReadForwardCompatibly(t *testing.T) {
	event := func(detail string) []byte {
		return []byte(`{"version":"0","id":"e-2","detail-type":"Circuit State Change","source":"breakerbox","account":"123456789012",` +
			`"time":"2026-03-04T10:00:00Z","region":"us-east-1","resources":[],"replay-name":"new-envelope-field","detail":` + detail + `}`)
	}
	r := newRig(t, nil)
	r.mapping.enabled = false
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
	r.breaker.view = client.Circuit{State: StateHalfOpen, Version: 7}
	ahead := event(`{"id":"inventory","from":"OPEN","to":"HALF_OPEN","reason":"probe ok","at":"2026-03-04T10:00:00Z","version":8,` +
		`"region":"eu-west-1","probe":{"latencyMs":12},"tags":["a"]}`)
	out, err := r.h.Invoke(r.ctx(), ahead)
	if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeResumed || res.Trigger != TriggerEvent {
		t.Fatalf("event with extra detail fields = %+v, %v; want resumed by the event", out, err)
	}
	if _, on := r.mapping.get(); !on {
		t.Fatal("mapping still disabled after the event with extra fields")
	}
	for _, c := range []struct{ detail, want string }{
		{`{"from":"OPEN","to":"CLOSED","version":9,"extra":1}`, `"id"`},
		{`{"id":"inventory","from":"OPEN","version":9}`, `"to"`},
		{`{"id":"inventory","to":"","version":9}`, `"to"`},
		{`{"id":"inventory","to":"CLOSED","version":"nine"}`, `"version"`},
		{`{"id":7,"to":"CLOSED"}`, `"id"`},
		{`null`, "without a detail"},
		{`"CLOSED"`, "not a JSON object"},
	} {
		out, err := r.h.Invoke(r.ctx(), event(c.detail))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "want a detail like") {
			t.Errorf("detail %s = %+v, %v; want an error naming %s and the expected shape", c.detail, out, err, c.want)
		}
	}
	noDetail := []byte(`{"detail-type":"Circuit State Change","source":"breakerbox"}`)
	if _, err := r.h.Invoke(r.ctx(), noDetail); err == nil || !strings.Contains(err.Error(), "without a detail") {
		t.Errorf("event without a detail: %v, want an error", err)
	}
}

// "from", "reason" and "at" are only logged (docs/ventilator.md): one of another type, say an "at"
// in epoch milliseconds from a publisher one version ahead, must not cost the wake-up. "version",
// when present, is a number: 8.0 is the number 8.
func TestStateChangeOnlyLoggedFieldsOfAnotherTypeStillWake(t *testing.T) {
	for _, detail := range []string{
		`{"id":"inventory","from":"OPEN","to":"HALF_OPEN","reason":"probe ok","at":1772618400000,"version":8}`,
		`{"id":"inventory","from":{"state":"OPEN"},"to":"HALF_OPEN","reason":{"code":"probe"},"version":8}`,
		`{"id":"inventory","from":"OPEN","to":"HALF_OPEN","version":8.0}`,
	} {
		r := newRig(t, nil)
		r.mapping.enabled = false
		r.setController(adaptive.State{Policy: "aimd", BatchSize: 1, Tripped: true})
		r.breaker.view = client.Circuit{State: StateHalfOpen, Version: 7}
		out, err := r.h.Invoke(r.ctx(), []byte(`{"detail-type":"Circuit State Change","source":"breakerbox","detail":`+detail+`}`))
		if res, ok := out.(WakeResult); err != nil || !ok || res.Action != WakeResumed {
			t.Errorf("detail %s = %+v, %v; want resumed", detail, out, err)
		}
	}
	r := newRig(t, nil)
	for _, detail := range []string{
		`{"id":"inventory","to":"CLOSED","version":8.5}`,
		`{"id":"inventory","to":"CLOSED","version":1e30}`,
	} {
		_, err := r.h.Invoke(r.ctx(), []byte(`{"detail-type":"Circuit State Change","source":"breakerbox","detail":`+detail+`}`))
		if err == nil || !strings.Contains(err.Error(), `"version"`) {
			t.Errorf("detail %s: err = %v, want an error naming \"version\"", detail, err)
		}
	}
}
