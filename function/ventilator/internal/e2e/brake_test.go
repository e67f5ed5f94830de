package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The in-batch brake: the provider's latency rises from 200 ms to 2 s in the middle of a batch, and
// the ventilator's calls in flight fall before that batch ends, as the provider counts them. One
// decision per batch would keep the pool at 8 until the batch is done: every call arriving after
// the slow-down would find it full. (At 200 ms the dedup claims, not the pool, bound the calls in
// flight on a busy machine, so the figures before the slow-down vary.)
func TestInFlightFallsWithinABatchWhenTheProviderSlowsDown(t *testing.T) {
	const records, pool, before = 48, 8, 16
	r := newRig(t, rigOptions{BatchSize: records, Env: []string{
		fmt.Sprintf("MAX_BATCH=%d", records), fmt.Sprintf("INITIAL_BATCH=%d", records),
		fmt.Sprintf("INITIAL_CONCURRENCY=%d", pool), fmt.Sprintf("MAX_CONCURRENCY=%d", pool),
		"SLOW_CALL=10s", // the 2 s calls are not slow calls: the latency alone must brake
		"INVOKE_TIMEOUT=5s",
	}})
	r.provider.setDelay(200 * time.Millisecond)
	r.provider.slowDownAfter(before, 2*time.Second)
	var ids, bodies []string
	for i := range records {
		ids = append(ids, fmt.Sprint("b", i))
		bodies = append(bodies, record(ids[i]))
	}
	r.put("", bodies...)
	r.start()
	r.eventuallySucceeded(ids)

	// Every record was in the first batch, and the batch called every one of them: so every
	// arrival below happened within that batch.
	var first map[string]any
	r.eventually("the first batch's line", func() bool {
		lines := r.logLines(map[string]any{"msg": "batch done"})
		if len(lines) > 0 {
			first = lines[0]
		}
		return first != nil
	})
	if first["records"] != float64(records) || first["unsent"] != float64(0) || first["calls"] != float64(records) {
		t.Fatalf("first batch %v: want all %d records in it, each called (too slow a machine leaves some unsent)", first, records)
	}
	arrivals := r.provider.inFlightAtArrivals()
	if len(arrivals) != records {
		t.Fatalf("%d calls reached the provider, want %d", len(arrivals), records)
	}
	// After the slow-down the pool fills with slow calls (their records were claimed at the old
	// pace), then must empty out within the batch: a later call finds at most one other in flight.
	// Without the brake every later call finds the pool full.
	after := arrivals[before:]
	peak := slices.Index(after, slices.Max(after))
	if after[peak] < 4 || slices.Min(after[peak:]) > 2 {
		t.Fatalf("in flight at the arrivals after the slow-down: %v (before: %v); want it to rise to 4 or more, then fall to 2 or fewer within the batch",
			after, arrivals[:before])
	}
	t.Logf("in flight at each arrival: %v; batch %v", arrivals, first)
}
