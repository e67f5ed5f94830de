package handler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// A pool of the concurrency's share runs over a larger batch: at most that many calls at once, and
// every record done.
func TestPoolOverALargerBatch(t *testing.T) {
	r := newRig(t, nil)
	r.setController(adaptive.State{Policy: "aimd", Concurrency: 3, BatchSize: 12})
	// Each call waits (up to a deadline only a failure reaches) until the pool is full once, so
	// that reaching it does not hang on how the calls happen to overlap on a loaded machine.
	deadline := time.Now().Add(time.Minute)
	r.worker.behave = func(string) fanout.Outcome {
		for r.worker.most.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return ok(0)
	}
	var payloads []string
	for i := range 12 {
		payloads = append(payloads, rec(fmt.Sprint("p", i)))
	}
	if failed := r.invoke(kinesisEvent(payloads...)); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if most := r.worker.most.Load(); most != 3 {
		t.Fatalf("%d calls at once, want the pool of 3", most)
	}
}

// On SQS the concurrency is spread over concurrent invocations through the mapping's
// MaximumConcurrency, each with a pool of one.
func TestSQSConcurrencyMovesMaximumConcurrency(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Adaptive.MinConcurrency = 2 })
	r.setController(adaptive.State{Policy: "aimd", Concurrency: 4, BatchSize: 4})
	r.worker.behave = func(string) fanout.Outcome {
		time.Sleep(10 * time.Millisecond)
		return ok(0)
	}
	if failed := r.invoke(sqsEvent(sqsMessage{id: "m-1", body: rec("a")}, sqsMessage{id: "m-2", body: rec("b")})); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if most := r.worker.most.Load(); most != 1 {
		t.Fatalf("%d calls at once in one SQS invocation, want 1 (SQSScaling's pool)", most)
	}
	s := r.controller()
	last := r.mapping.applies[len(r.mapping.applies)-1]
	want, _ := adaptive.SQSScaling(s.Concurrency)
	if s.Concurrency != 5 || last.want.MaximumConcurrency != want || !last.fresh {
		t.Fatalf("controller %+v, last apply %+v; want concurrency 5 applied as MaximumConcurrency %d", s, last, want)
	}
}

// The fan-out stops starting records in time for the settle step: the records it could not start
// are returned for a retry and counted as unsent, and the controller state is still written.
func TestDeadlineBudgetKeepsTimeToSettle(t *testing.T) {
	r := newRig(t, nil)
	r.setController(adaptive.State{Policy: "aimd", Concurrency: 1, BatchSize: 40})
	r.worker.behave = func(string) fanout.Outcome {
		time.Sleep(500 * time.Millisecond)
		return ok(500 * time.Millisecond)
	}
	var payloads []string
	for i := range 40 {
		payloads = append(payloads, rec(fmt.Sprint("d", i)))
	}
	// Five seconds to start records, after the reserve for a call, its dedup writes and the settle
	// step: room for the set-up's moto calls on a loaded machine, and at most 10 of the 40 calls.
	window := 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.InvokeTimeout+2*r.cfg.AWSTimeout+r.h.settleReserve()+window)
	defer cancel()
	out, err := r.h.Invoke(ctx, kinesisEvent(payloads...))
	if err != nil {
		t.Fatal(err)
	}
	failed := out.(Response).BatchItemFailures
	calls := r.worker.total()
	if calls == 0 || calls == 40 || len(failed) != 40-calls {
		t.Fatalf("%d calls, %d failures: want some records started, the rest returned", calls, len(failed))
	}
	lines := r.logLines(t)
	var done map[string]any
	for _, l := range lines {
		if l["msg"] == "batch done" {
			done = l
		}
	}
	if done == nil || done["unsent"] != float64(40-calls) {
		t.Fatalf("no settled batch with %d unsent in %v", 40-calls, lines)
	}
}
