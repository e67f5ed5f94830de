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
// MaximumConcurrency, each with a pool of SQSScaling's (20 calls: 2 invocations of 10), and the
// controller's decision moves MaximumConcurrency (21 calls: 3 invocations of 7).
func TestSQSConcurrencyMovesMaximumConcurrency(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Adaptive.MinConcurrency, c.Adaptive.MaxConcurrency = 2, 40 })
	r.setController(adaptive.State{Policy: "aimd", Concurrency: 20, BatchSize: 10})
	_, pool := adaptive.SQSScaling(20, 40)
	// Each call waits (up to a deadline only a failure reaches) until the pool is full once.
	deadline := time.Now().Add(time.Minute)
	r.worker.behave = func(string) fanout.Outcome {
		for r.worker.most.Load() < int32(pool) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return ok(0)
	}
	var msgs []sqsMessage
	for i := range 10 {
		msgs = append(msgs, sqsMessage{id: fmt.Sprint("m-", i), body: rec(fmt.Sprint("s", i))})
	}
	if failed := r.invoke(sqsEvent(msgs...)); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if most := r.worker.most.Load(); most != int32(pool) {
		t.Fatalf("%d calls at once in one SQS invocation, want SQSScaling's pool of %d", most, pool)
	}
	s := r.controller()
	last := r.mapping.applies[len(r.mapping.applies)-1]
	want, _ := adaptive.SQSScaling(s.Concurrency, 40)
	if s.Concurrency != 21 || want != 3 || last.want.MaximumConcurrency != want || !last.fresh {
		t.Fatalf("controller %+v, last apply %+v; want concurrency 21 applied as MaximumConcurrency 3", s, last)
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
	// Five seconds to start records, after the reserve for a call, its dedup writes and the settle
	// step: room for the set-up's moto calls on a loaded machine, and at most 10 of the 40 calls.
	calls := startSomeOf40(t, r, "d", r.cfg.InvokeTimeout+2*r.cfg.AWSTimeout+r.h.settleReserve()+5*time.Second)
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

// With a latency known, records start while twice that latency fits before the fan-out's
// deadline, not only while a whole INVOKE_TIMEOUT does: here the window is shorter than
// INVOKE_TIMEOUT, so the old rule would start nothing; the records not started are returned.
func TestRecordsStartWhileTheirExpectedLatencyFits(t *testing.T) {
	// One call at a time, so that the 40 calls need 4 s however fast the machine: the pool's slow
	// start would otherwise finish them within the window on an idle one.
	r := newRig(t, func(c *config.Config) {
		c.Adaptive.Policy, c.Adaptive.MaxConcurrency = adaptive.PolicyPace, 1
	})
	r.setController(adaptive.State{Policy: adaptive.PolicyPace, Concurrency: 1, BatchSize: 40,
		Baseline: 100 * time.Millisecond, BaselineCalls: 100, Recent: 100 * time.Millisecond})
	r.worker.behave = func(string) fanout.Outcome {
		time.Sleep(100 * time.Millisecond)
		return fanout.Outcome{OK: true, Latency: 100 * time.Millisecond}
	}
	// Three seconds to start records after the reserve for the settle step and the two dedup
	// writes, less than INVOKE_TIMEOUT (5s), and enough for some of the 40 calls of 100ms.
	startSomeOf40(t, r, "e", 2*r.cfg.AWSTimeout+r.h.settleReserve()+3*time.Second)
}

// startSomeOf40 invokes the ventilator with 40 records (ids prefix0..prefix39) within budget and
// checks that some were started and the rest returned for a retry; it returns how many started.
func startSomeOf40(t *testing.T, r *rig, prefix string, budget time.Duration) int {
	t.Helper()
	var payloads []string
	for i := range 40 {
		payloads = append(payloads, rec(fmt.Sprint(prefix, i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	out, err := r.h.Invoke(ctx, kinesisEvent(payloads...))
	if err != nil {
		t.Fatal(err)
	}
	failed := out.(Response).BatchItemFailures
	calls := r.worker.total()
	if calls == 0 || calls == 40 || len(failed) != 40-calls {
		t.Fatalf("%d calls, %d failures: want some records started within the budget, the rest returned", calls, len(failed))
	}
	return calls
}

// A call still running when the fan-out's deadline comes is cut there, and given back without an
// attempt, although another record succeeded after it started (which would charge a failure):
// the record's time ran out, it did not fail. With MAX_ATTEMPTS 1 a charge would dead-letter it.
func TestCallCutByTheDeadlineIsNotCharged(t *testing.T) {
	r := newRig(t, func(c *config.Config) {
		c.Adaptive.Policy = adaptive.PolicyPace
		c.MaxAttempts = 1
		c.AWSTimeout = 10 * time.Second
		c.InvokeTimeout = time.Minute
	})
	r.setController(adaptive.State{Policy: adaptive.PolicyPace, Concurrency: 2, BatchSize: 2,
		Baseline: 100 * time.Millisecond, BaselineCalls: 100, Recent: 100 * time.Millisecond})
	r.worker.behaveCtx = func(ctx context.Context, id string) fanout.Outcome {
		if id == "slow" {
			<-ctx.Done() // answers only when cut
			return fanout.Outcome{Latency: time.Second, Err: ctx.Err()}
		}
		time.Sleep(50 * time.Millisecond)
		return fanout.Outcome{OK: true, Latency: 50 * time.Millisecond}
	}
	event := kinesisEvent(rec("slow"), rec("quick"))
	// The calls may end until 3 s after the settle and dedup reserves: far less than the
	// INVOKE_TIMEOUT of a minute, so the slow call is cut by the fan-out's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 2*r.cfg.AWSTimeout+r.h.settleReserve()+3*time.Second)
	defer cancel()
	out, err := r.h.Invoke(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	if failed := out.(Response).BatchItemFailures; len(failed) != 1 || failed[0].ItemIdentifier != "1000" {
		t.Fatalf("failures %v, want the slow record only", failed)
	}
	cutLogged := false
	for _, l := range r.logLines(t) {
		cutLogged = cutLogged || l["msg"] == "worker call cut by the fan-out's deadline: record will be retried without an attempt"
	}
	if !cutLogged {
		t.Fatal("no log of the cut call")
	}
	r.worker.behaveCtx = nil
	if failed := r.invoke(event); len(failed) != 0 {
		t.Fatalf("second batch: failures %v", failed)
	}
	if letters := r.dlq.all(); len(letters) != 0 || r.worker.count("slow") != 2 {
		t.Fatalf("letters %+v, slow called %d times: the cut call was charged", letters, r.worker.count("slow"))
	}
}
