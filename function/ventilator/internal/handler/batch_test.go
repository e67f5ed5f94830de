package handler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

func TestHealthyBatchGrowsTheBatchSize(t *testing.T) {
	r := newRig(t, nil)
	if failed := r.invoke(kinesisEvent(rec("a"))); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	s := r.controller()
	if s.Concurrency != 2 || s.Policy != "aimd" {
		t.Fatalf("controller %+v, want aimd at concurrency 2", s)
	}
	if size, on := r.mapping.get(); size != s.BatchSize || size < 2 || !on {
		t.Fatalf("mapping at %d (enabled %v), want the controller's batch size %d", size, on, s.BatchSize)
	}
	if last := r.mapping.applies[len(r.mapping.applies)-1]; !last.fresh || last.want.Enabled != mapping.Keep {
		t.Errorf("a batch-size change was applied as %+v; want a fresh read and the flag kept", last)
	}
	lines := r.emf.lines(t)
	if len(lines) != 1 || lines[0]["BatchSize"] != float64(s.BatchSize) || lines[0]["Concurrency"] != 2.0 || lines[0]["ErrorRate"] != 0.0 || lines[0]["Tripped"] != 0.0 || lines[0]["LatencyP99"] != 20.0 {
		t.Fatalf("EMF %v", lines)
	}
	if o := r.breaker.outcomes(); len(o) != 1 || !o[0].OK || o[0].Permit != "" {
		t.Fatalf("reported %+v", o)
	}

	// The next batch of two runs both at once and grows again.
	if failed := r.invoke(kinesisEvent(rec("b"), rec("c"))); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if s := r.controller(); s.Concurrency != 3 {
		t.Fatalf("concurrency %d, want 3", s.Concurrency)
	}
}

func TestReplayedBatchDoesNotReprocess(t *testing.T) {
	r := newRig(t, nil)
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "b" {
			return fail(id)
		}
		return ok(0)
	}
	event := kinesisEvent(rec("a"), rec("b"), rec("c"))
	if failed := r.invoke(event); !slices.Equal(failed, []string{"1001"}) {
		t.Fatalf("failures %v, want b's sequence number", failed)
	}
	r.worker.behave = nil
	if failed := r.invoke(event); len(failed) != 0 {
		t.Fatalf("replay failures %v", failed)
	}
	for id, want := range map[string]int{"a": 1, "b": 2, "c": 1} {
		if got := r.worker.count(id); got != want {
			t.Errorf("record %s called %d times, want %d", id, got, want)
		}
	}
	r.invoke(event)
	if r.worker.total() != 4 {
		t.Errorf("a third delivery made calls: %d in all, want 4", r.worker.total())
	}
}

func TestMaxAttemptsGoesToTheDeadLetterQueue(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Adaptive.TripAfter = 100 }) // one failing call at size 1 would trip
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "bad" {
			return fail(id)
		}
		return ok(0)
	}
	event := sqsEvent(sqsMessage{id: "m-1", body: rec("bad")}, sqsMessage{id: "m-2", body: rec("good")})
	for attempt := 1; attempt <= 2; attempt++ {
		if failed := r.invoke(event); !slices.Equal(failed, []string{"m-1"}) {
			t.Fatalf("attempt %d: failures %v", attempt, failed)
		}
	}
	if len(r.dlq.all()) != 0 {
		t.Fatal("dead-lettered before MAX_ATTEMPTS")
	}
	if failed := r.invoke(event); len(failed) != 0 {
		t.Fatalf("third attempt: failures %v, want the record dead-lettered instead", failed)
	}
	letters := r.dlq.all()
	if len(letters) != 1 {
		t.Fatalf("%d letters", len(letters))
	}
	l := letters[0]
	if l.Reason != deadletter.ReasonMaxAttempts || l.Attempts != 3 || l.ItemIdentifier != "m-1" || l.Key != "inventory#2026-03-04#bad" ||
		!strings.Contains(l.Detail, "HTTP 503") || !strings.Contains(string(l.Record), `"messageId":"m-1"`) {
		t.Fatalf("letter %+v", l)
	}
	if failed := r.invoke(event); len(failed) != 0 || r.worker.count("bad") != 3 || len(r.dlq.all()) != 1 {
		t.Fatalf("after the DLQ: failures %v, %d calls, %d letters", failed, r.worker.count("bad"), len(r.dlq.all()))
	}
}

// TestLeftoverAttemptsGoToTheDeadLetterQueue: a record whose attempts were used up without its last
// failure being handled (the ventilator died) is dead-lettered at its next claim, without a call.
func TestLeftoverAttemptsGoToTheDeadLetterQueue(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 1 })
	ctx := r.ctx()
	key := "inventory#2026-03-04#x"
	if _, err := r.dedup.Claim(ctx, key, "crashed"); err != nil {
		t.Fatal(err)
	}
	r.now = r.now.Add(r.cfg.ClaimLease() + time.Second)
	if failed := r.invoke(sqsEvent(sqsMessage{id: "m-1", body: rec("x")})); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if r.worker.total() != 0 || len(r.dlq.all()) != 1 || r.dlq.all()[0].Attempts != 1 {
		t.Fatalf("%d calls, letters %+v; want no call and one letter after 1 attempt", r.worker.total(), r.dlq.all())
	}
}

func TestBadRecordsGoToTheDeadLetterQueueOnce(t *testing.T) {
	r := newRig(t, nil)
	event := sqsEvent(
		sqsMessage{id: "m-1", body: "not json"},
		sqsMessage{id: "m-2", body: `{"sku":"A-1"}`},
		sqsMessage{id: "m-3", body: `{"id":42}`},
		sqsMessage{id: "m-4", body: rec("ok")},
	)
	if failed := r.invoke(event); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	got := map[string]string{}
	for _, l := range r.dlq.all() {
		got[l.ItemIdentifier] = l.Reason + ": " + l.Detail
	}
	want := map[string]string{
		"m-1": "invalid-json: record is not a JSON object",
		"m-2": `missing-id: record has no "id"`,
		"m-3": `missing-id: record's "id" is not a non-empty string: 42`,
	}
	if len(got) != len(want) {
		t.Fatalf("letters %v", got)
	}
	for id, w := range want {
		if !strings.HasPrefix(got[id], w) {
			t.Errorf("letter of %s = %q, want %q...", id, got[id], w)
		}
	}
	if r.worker.total() != 1 {
		t.Errorf("%d worker calls, want 1 (the good record)", r.worker.total())
	}
	r.invoke(event)
	if len(r.dlq.all()) != 3 {
		t.Errorf("a replay dead-lettered again: %d letters", len(r.dlq.all()))
	}
}

// A batch without a worker call decides nothing: its EMF line carries the batch size it ran at, which
// on a ventilator without a stored state is the initial one, not 0.
func TestBatchWithoutCallsReportsItsBatchSize(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Adaptive.InitialBatch = 4 })
	if failed := r.invoke(sqsEvent(sqsMessage{id: "m-1", body: "not json"})); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	lines := r.emf.lines(t)
	if len(lines) != 1 || lines[0]["BatchSize"] != 4.0 || lines[0]["_aws"] == nil {
		t.Fatalf("EMF %v, want one line with BatchSize 4", lines)
	}
	if _, ok := lines[0]["LatencyP99"]; ok || r.worker.total() != 0 {
		t.Fatalf("EMF %v with %d worker calls, want no call and no latency", lines, r.worker.total())
	}
}

func TestDeadLetterQueueDownKeepsTheRecord(t *testing.T) {
	r := newRig(t, nil)
	r.dlq.err = errors.New("sqs: service unavailable")
	event := sqsEvent(sqsMessage{id: "m-1", body: "not json"})
	if failed := r.invoke(event); !slices.Equal(failed, []string{"m-1"}) {
		t.Fatalf("failures %v, want the record retried", failed)
	}
	r.dlq.err = nil
	if failed := r.invoke(event); len(failed) != 0 || len(r.dlq.all()) != 1 {
		t.Fatalf("after recovery: failures %v, %d letters", failed, len(r.dlq.all()))
	}
}

func TestOpenCircuitStopsFanOut(t *testing.T) {
	r := newRig(t, nil)
	r.mapping.batchSize = 8
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 8})
	r.breaker.grant = client.Decision{Allowed: false, State: StateOpen, RetryAt: r.now.Add(30 * time.Second)}
	failed := r.invoke(kinesisEvent(rec("a"), rec("b"), rec("c")))
	if !slices.Equal(failed, []string{"1000", "1001", "1002"}) {
		t.Fatalf("failures %v, want every record", failed)
	}
	if r.worker.total() != 0 {
		t.Fatalf("%d worker calls while OPEN", r.worker.total())
	}
	s := r.controller()
	if !s.Tripped || s.Concurrency != 1 {
		t.Fatalf("controller %+v, want tripped at concurrency 1", s)
	}
	if size, on := r.mapping.get(); on || size != s.BatchSize {
		t.Fatalf("mapping at %d, enabled %v; want disabled at the controller's batch size %d", size, on, s.BatchSize)
	}
	if l := r.emf.lines(t); len(l) != 1 || l[0]["Tripped"] != 1.0 || l[0]["circuitState"] != "OPEN" {
		t.Fatalf("EMF %v", l)
	}

	// A batch that still arrives is not even asked about.
	acquires := r.breaker.acquires
	if failed := r.invoke(kinesisEvent(rec("a"))); len(failed) != 1 || r.breaker.acquires != acquires || r.worker.total() != 0 {
		t.Fatalf("batch while tripped: failures %v, %d acquires", failed, r.breaker.acquires-acquires)
	}
}

func TestUnreachableExtensionFollowsTheFailMode(t *testing.T) {
	r := newRig(t, nil)
	r.breaker.acquireErr = errors.New("breakerbox: extension unreachable: connection refused")
	r.breaker.grant = client.Decision{State: "UNKNOWN", Unreachable: true} // fail mode closed
	if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); len(failed) != 2 || r.worker.total() != 0 || len(r.mapping.applies) != 0 {
		t.Fatalf("fail closed: failures %v, %d calls, %d mapping changes; want every record retried and the mapping untouched",
			failed, r.worker.total(), len(r.mapping.applies))
	}
	if s := r.controller(); s.Tripped {
		t.Fatal("an unreachable extension tripped the ventilator")
	}
	r.breaker.grant = client.Decision{Allowed: true, State: "UNKNOWN", Unreachable: true} // fail mode open
	if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); len(failed) != 0 || r.worker.total() != 2 {
		t.Fatalf("fail open: failures %v, %d calls", failed, r.worker.total())
	}
}

func TestProbeRunsOneCall(t *testing.T) {
	r := newRig(t, nil)
	r.breaker.grant = client.Decision{Allowed: true, State: StateHalfOpen, Permit: "p-1"}
	// The probe calls the newest record: the oldest is the likeliest to be a poison record.
	failed := r.invoke(kinesisEvent(rec("a"), rec("b"), rec("c")))
	if !slices.Equal(failed, []string{"1000", "1001"}) || r.worker.total() != 1 || r.worker.count("c") != 1 {
		t.Fatalf("probe: failures %v, calls %v", failed, r.worker.order)
	}
	if o := r.breaker.outcomes(); len(o) != 1 || o[0].Permit != "p-1" || !o[0].OK {
		t.Fatalf("reported %+v, want the probe with its permit", o)
	}
	// A probe skips what is already done and calls the next record.
	failed = r.invoke(kinesisEvent(rec("a"), rec("b"), rec("c")))
	if !slices.Equal(failed, []string{"1000"}) || r.worker.count("b") != 1 || r.worker.total() != 2 {
		t.Fatalf("second probe: failures %v, calls %v", failed, r.worker.order)
	}
}

// Failures of two different records at the smallest concurrency trip; one record failing again and
// again does not (it is that record's fault: it goes its way to the dead-letter queue).
func TestFailuresAtConcurrencyOneTrip(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.MaxAttempts = 2 })
	r.worker.behave = fail
	for range 3 {
		if failed := r.invoke(kinesisEvent(rec("a"))); len(failed) > 1 {
			t.Fatalf("failures %v", failed)
		}
		if _, on := r.mapping.get(); !on {
			t.Fatal("one poison record disabled the mapping")
		}
	}
	if letters := r.dlq.all(); len(letters) != 1 || r.worker.count("a") != 2 {
		t.Fatalf("%d letters, %d calls of a; want a dead-lettered after its 2 attempts", len(letters), r.worker.count("a"))
	}
	if failed := r.invoke(kinesisEvent(rec("b"))); !slices.Equal(failed, []string{"1000"}) {
		t.Fatalf("failures %v", failed)
	}
	s := r.controller()
	if size, on := r.mapping.get(); on || size != s.BatchSize || !s.Tripped || s.Concurrency != 1 {
		t.Fatalf("mapping at %d, enabled %v, controller %+v; want disabled, tripped at concurrency 1", size, on, s)
	}
	l := r.emf.lines(t)
	if last := l[len(l)-1]; last["Tripped"] != 1.0 || last["ErrorRate"] != 100.0 {
		t.Fatalf("EMF %v", l)
	}
}

func TestFIFOGroupStopsAtItsFirstFailure(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Adaptive.MaxBatch = 10 })
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 10})
	r.worker.behave = func(id string) fanout.Outcome {
		if id == "a1" {
			return fail(id)
		}
		return ok(0)
	}
	failed := r.invoke(sqsEvent(
		sqsMessage{id: "m-a1", body: rec("a1"), group: "A"},
		sqsMessage{id: "m-b1", body: rec("b1"), group: "B"},
		sqsMessage{id: "m-a2", body: rec("a2"), group: "A"},
		sqsMessage{id: "m-b2", body: rec("b2"), group: "B"},
		sqsMessage{id: "m-a3", body: rec("a3"), group: "A"},
	))
	if !slices.Equal(failed, []string{"m-a1", "m-a2", "m-a3"}) {
		t.Fatalf("failures %v, want group A from its failure on", failed)
	}
	if r.worker.count("a2") != 0 || r.worker.count("a3") != 0 || r.worker.count("b1") != 1 || r.worker.count("b2") != 1 {
		t.Fatalf("calls %v", r.worker.order)
	}
	if i, j := slices.Index(r.worker.order, "b1"), slices.Index(r.worker.order, "b2"); i > j {
		t.Fatalf("group B ran out of order: %v", r.worker.order)
	}
}

func TestConcurrencyIsTheBatchSize(t *testing.T) {
	r := newRig(t, nil)
	r.setController(adaptive.State{Policy: "aimd", BatchSize: 2})
	r.worker.behave = func(string) fanout.Outcome {
		time.Sleep(20 * time.Millisecond)
		return ok(0)
	}
	var payloads []string
	for i := range 8 {
		payloads = append(payloads, rec(fmt.Sprint("r", i)))
	}
	if failed := r.invoke(kinesisEvent(payloads...)); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if most := r.worker.most.Load(); most > 2 || most < 1 {
		t.Fatalf("%d calls at once, want at most 2", most)
	}
}

func TestClaimedElsewhereIsRetried(t *testing.T) {
	r := newRig(t, nil)
	if _, err := r.dedup.Claim(r.ctx(), "inventory#2026-03-04#a", "other-ventilator"); err != nil {
		t.Fatal(err)
	}
	if failed := r.invoke(kinesisEvent(rec("a"), rec("b"))); !slices.Equal(failed, []string{"1000"}) || r.worker.count("a") != 0 {
		t.Fatalf("failures %v, calls %v", failed, r.worker.order)
	}
}

func TestNoTimeLeftRetriesEverything(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.InvokeTimeout) // less than a call and its dedup writes
	defer cancel()
	out, err := r.h.Invoke(ctx, kinesisEvent(rec("a"), rec("b")))
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(Response); len(resp.BatchItemFailures) != 2 || r.worker.total() != 0 {
		t.Fatalf("failures %v, %d calls", resp.BatchItemFailures, r.worker.total())
	}
}

func TestUnsupportedAndEmptyEvents(t *testing.T) {
	r := newRig(t, nil)
	for _, e := range []string{`{"foo":1}`, `[1]`, `{"Records":[{"eventSource":"aws:sns"}]}`, `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`} {
		if _, err := r.h.Invoke(r.ctx(), []byte(e)); err == nil {
			t.Errorf("event %s accepted", e)
		}
	}
	if failed := r.invoke([]byte(`{"Records":[]}`)); len(failed) != 0 || r.breaker.acquires != 0 {
		t.Errorf("empty batch: failures %v, %d acquires", failed, r.breaker.acquires)
	}
}
