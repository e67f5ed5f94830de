package handler

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
)

// refuse is a call turned away with a 429: the provider (or Lambda, for the worker) refused it.
func refuse(string) fanout.Outcome {
	return fanout.Outcome{Refused: true, Latency: 5 * time.Millisecond,
		Err: errors.New("invoke worker: function error Unhandled: provider answered 429")}
}

// A refusal is the controller's signal to back off, not evidence that the provider is down: the
// extension hears only of the calls the provider did or failed, as in the simulator. A provider
// that refuses every call at the smallest concurrency still stops the ventilator, by the
// controller's trip rule.
func TestRefusedCallsAreNotReportedToTheCircuit(t *testing.T) {
	r := newRig(t, nil)
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "b" {
			return refuse(id)
		}
		return ok(0)
	}
	if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); !slices.Equal(failed, []string{"1001"}) {
		t.Fatalf("failures %v, want the refused record retried", failed)
	}
	if o := r.breaker.outcomes(); len(o) != 1 || !o[0].OK {
		t.Fatalf("reported %+v, want only the successful call", o)
	}
	if s := r.controller(); s.Tripped {
		t.Fatalf("controller %+v tripped on one refusal among successes", s)
	}

	// Every call refused at the smallest concurrency: nothing reaches the circuit, but the
	// controller trips and the mapping is disabled.
	r.setController(r.h.Controller.Initial(r.h.Now()))
	r.worker.behave = refuse
	if failed := r.invoke(kinesisEvent(rec("c"), rec("d"))); len(failed) != 2 {
		t.Fatalf("failures %v, want both refused records retried", failed)
	}
	if o := r.breaker.outcomes(); len(o) != 1 {
		t.Fatalf("reported %+v, want no refusal reported", o)
	}
	s := r.controller()
	if _, on := r.mapping.get(); on || !s.Tripped || s.Concurrency != 1 {
		t.Fatalf("mapping enabled %v, controller %+v; want disabled, tripped at concurrency 1", on, s)
	}
}

// A refused call is no attempt: a record the provider keeps refusing is retried, never
// dead-lettered after MAX_ATTEMPTS, as in the simulator.
func TestRefusedCallsAreNotAttempts(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 2 })
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "a" {
			return refuse(id)
		}
		return ok(0)
	}
	for i := range 3 {
		if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); !slices.Equal(failed, []string{"1000"}) {
			t.Fatalf("round %d: failures %v, want the refused record retried", i, failed)
		}
	}
	if letters := r.dlq.all(); len(letters) != 0 || r.worker.count("a") != 3 {
		t.Fatalf("%d letters, %d calls of a; want a called each time and never dead-lettered", len(letters), r.worker.count("a"))
	}
	if _, on := r.mapping.get(); !on {
		t.Fatal("one record refused again and again disabled the mapping")
	}
}
