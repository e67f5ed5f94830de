package handler

import (
	"slices"
	"testing"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// An outage longer than MAX_ATTEMPTS calls per record dead-letters nothing: batches in which every
// call fails charge no attempt (the controller is kept from tripping here, so the records really
// are called again and again), and once the provider is back every record succeeds once.
func TestOutageCostsNoAttempts(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 2; c.Adaptive.TripAfter = 1000 })
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 3, Concurrency: 2})
	r.worker.behave = fail
	event := kinesisEvent(rec("a"), rec("b"), rec("c"))
	const rounds = 5
	for i := range rounds {
		if failed := r.invoke(event); len(failed) != 3 {
			t.Fatalf("outage round %d: failures %v, want every record retried", i, failed)
		}
	}
	if letters := r.dlq.all(); len(letters) != 0 {
		t.Fatalf("%d records dead-lettered by an outage of %d calls each (MAX_ATTEMPTS 2): %+v", len(letters), rounds, letters)
	}
	if n := r.worker.count("a"); n != rounds {
		t.Fatalf("a called %d times, want %d", n, rounds)
	}
	r.worker.behave = nil
	if failed := r.invoke(event); len(failed) != 0 {
		t.Fatalf("after the outage: failures %v", failed)
	}
	if letters := r.dlq.all(); len(letters) != 0 || r.worker.count("a") != rounds+1 {
		t.Fatalf("after the outage: %d letters, a called %d times", len(letters), r.worker.count("a"))
	}
}

// A provider that goes down in the middle of a batch: the calls after the batch's last success are
// not charged, as the provider may have gone down under them.
func TestFailuresAfterTheLastSuccessAreNotCharged(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 1; c.Adaptive.TripAfter = 1000 })
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 3, Concurrency: 1})
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "first" {
			return ok(0)
		}
		return fail(id)
	}
	for i := range 3 {
		if failed := r.invoke(kinesisEvent(rec("first"), rec("b"), rec("c"))); !slices.Equal(failed, []string{"1001", "1002"}) {
			t.Fatalf("round %d: failures %v", i, failed)
		}
	}
	if letters := r.dlq.all(); len(letters) != 0 {
		t.Fatalf("letters %+v: failures after the batch's last success were charged", letters)
	}
}

// A poison record among healthy ones is charged (others succeed after it fails) and dead-lettered at
// MAX_ATTEMPTS without tripping; the same batch is not charged while the circuit, told the
// outcomes, is OPEN.
func TestPoisonIsChargedOnlyWhileTheCircuitIsClosed(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 2 })
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 3, Concurrency: 1})
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "poison" {
			return fail(id)
		}
		return ok(0)
	}
	r.breaker.view = client.Circuit{State: StateOpen}
	for i := range 3 {
		if failed := r.invoke(kinesisEvent(rec("poison"), rec(string(rune('a'+i))))); !slices.Equal(failed, []string{"1000"}) {
			t.Fatalf("round %d: failures %v", i, failed)
		}
	}
	if letters := r.dlq.all(); len(letters) != 0 {
		t.Fatalf("letters %+v while the circuit is OPEN", letters)
	}
	r.breaker.view = client.Circuit{State: StateClosed, Allowed: true}
	if failed := r.invoke(kinesisEvent(rec("poison"), rec("x"))); !slices.Equal(failed, []string{"1000"}) {
		t.Fatalf("first charged round: failures %v", failed)
	}
	if failed := r.invoke(kinesisEvent(rec("poison"), rec("y"))); len(failed) != 0 {
		t.Fatalf("second charged round: failures %v, want the poison record dead-lettered", failed)
	}
	letters := r.dlq.all()
	if len(letters) != 1 || letters[0].Reason != deadletter.ReasonMaxAttempts || letters[0].Attempts != 2 || r.worker.count("poison") != 5 {
		t.Fatalf("letters %+v, poison called %d times; want one letter after 2 charged attempts of 5 calls", letters, r.worker.count("poison"))
	}
	if _, on := r.mapping.get(); !on || r.controller().Tripped {
		t.Fatal("a poison record tripped the ventilator")
	}
}

// A poison message at the head of a FIFO group, with the rest of its group waiting behind it, is
// alone in its batch: charged while the circuit is CLOSED, it reaches the dead-letter queue and the
// group flows on.
func TestPoisonAtTheHeadOfAFIFOGroupIsDeadLettered(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 2; c.Adaptive.MaxBatch = 10 })
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 3, Concurrency: 1})
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "a1" {
			return fail(id)
		}
		return ok(0)
	}
	event := sqsEvent(sqsMessage{id: "m-a1", body: rec("a1"), group: "A"}, sqsMessage{id: "m-a2", body: rec("a2"), group: "A"})
	if failed := r.invoke(event); !slices.Equal(failed, []string{"m-a1", "m-a2"}) {
		t.Fatalf("first round: failures %v", failed)
	}
	if failed := r.invoke(event); !slices.Equal(failed, []string{"m-a2"}) {
		t.Fatalf("second round: failures %v, want a1 dead-lettered and a2 waiting behind it", failed)
	}
	if failed := r.invoke(event); len(failed) != 0 || r.worker.count("a2") != 1 {
		t.Fatalf("third round: failures %v, a2 called %d times", failed, r.worker.count("a2"))
	}
	if letters := r.dlq.all(); len(letters) != 1 || letters[0].ItemIdentifier != "m-a1" || letters[0].Attempts != 2 {
		t.Fatalf("letters %+v, want m-a1 after 2 attempts", letters)
	}
}
