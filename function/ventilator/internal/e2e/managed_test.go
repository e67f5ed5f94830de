package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// On Lambda Managed Instances (lambdaenv -max-concurrency 8), the SQS poller's concurrent
// invocations (up to the mapping's MaximumConcurrency, which the controller raises; those beyond the
// environment's 8 are throttled and retried) feed one ventilator environment that handles their
// batches at once, with the extension registered for SHUTDOWN only
// and the worker multi-concurrent too: every record is processed once, no controller update is
// lost, and the race detector built into the ventilator and the extension finds nothing.
func TestManagedInstancesEightBatchesAtOnce(t *testing.T) {
	r := newRig(t, rigOptions{Source: sqsSource, BatchSize: 3, Ventilators: 1, Managed: 8, Env: []string{
		"BATCH_POLICY=step", "MAX_BATCH=1000", "INITIAL_CONCURRENCY=3", "MAX_CONCURRENCY=1000",
	}})
	r.provider.setDelay(30 * time.Millisecond)
	var ids []string
	for i := range 96 {
		ids = append(ids, fmt.Sprint("m", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventuallySucceeded(ids)
	r.eventually("the queue is drained", r.queueEmpty)
	r.cancel()
	r.wg.Wait()

	fn, _ := r.env.Function(r.ventilator)
	sbs := fn.Sandboxes()
	if len(sbs) != 1 || len(sbs[0].Extensions) != 1 || strings.Join(sbs[0].Extensions[0].Events, ",") != "SHUTDOWN" {
		t.Fatalf("ventilator sandboxes %+v: want one environment whose extension registered for SHUTDOWN only", sbs)
	}
	snap, batches := r.settledController(3)
	t.Logf("%d batches with calls in one environment (%d invokes); state version %d, concurrency %d", batches, sbs[0].Invokes, snap.Version, snap.State.Concurrency)
	if snap.Version != int64(batches) || snap.State.Concurrency != 3+batches {
		t.Errorf("after %d batches: state version %d and concurrency %d; want %d and %d", batches, snap.Version, snap.State.Concurrency, batches, 3+batches)
	}
	if most := r.pollers[0].Stats().MaxInFlight; most < 2 {
		t.Errorf("at most %d batch(es) in flight: the environment never handled batches at once", most)
	}
	for _, id := range ids {
		if n := r.provider.callsOf(id); n != 1 {
			t.Errorf("record %s called %d times, want 1", id, n)
		}
	}
	r.stop()
	if out := r.out.String(); strings.Contains(out, "DATA RACE") {
		t.Errorf("the race detector reported a data race:\n%s", out[max(0, strings.Index(out, "WARNING: DATA RACE")-200):])
	}
}
