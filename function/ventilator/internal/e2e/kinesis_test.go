package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// A healthy provider: every record is processed once, and the batch size grows, as
// GetEventSourceMapping shows.
func TestKinesisBatchSizeGrows(t *testing.T) {
	r := newRig(t, rigOptions{})
	var ids []string
	var bodies []string
	for i := range 30 {
		ids = append(ids, fmt.Sprint("k", i))
		bodies = append(bodies, record(ids[i]))
	}
	r.put("", bodies...)
	r.start()
	r.eventuallySucceeded(ids)
	r.eventually("the mapping's batch size grew", func() bool { size, _ := r.mapping(); return size > 1 })
	for _, id := range ids {
		if n := r.provider.callsOf(id); n != 1 {
			t.Errorf("record %s called %d times, want 1", id, n)
		}
	}
	// The last batch writes its state, then the mapping, then its metrics line: wait for all three.
	var size int
	r.eventually("the controller, the mapping and the last metrics line agree", func() bool {
		s, state := r.mapping()
		m := r.metrics()
		size = s
		return state == "Enabled" && r.controller().State.BatchSize == s && len(m) > 0 && m[len(m)-1]["BatchSize"] == float64(s)
	})
	if snap := r.controller(); snap.State.Policy != adaptive.DefaultPolicy {
		t.Errorf("controller %+v, want the default policy %s", snap.State, adaptive.DefaultPolicy)
	}
	if m := r.metrics(); m[0]["Circuit"] != r.circuit {
		t.Errorf("EMF line %v, want the circuit as its dimension", m[0])
	}
	t.Logf("%d records in %d batches; batch size now %d", len(ids), r.polled().Batches, size)
}

// A batch with a failed record is delivered again from that record on (Kinesis retries from the
// lowest failed sequence number): the records after it that succeeded are not processed again.
func TestKinesisReplayDoesNotReprocess(t *testing.T) {
	r := newRig(t, rigOptions{BatchSize: 10, Env: []string{"INITIAL_BATCH=10"}})
	r.provider.set(func(id string, call int) int {
		if id == "r3" && call == 1 {
			return 503
		}
		return 200
	})
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprint("r", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventuallySucceeded(ids)
	r.eventually("the poller settled every record", func() bool { return r.polled().Succeeded >= 10 })
	for _, id := range ids {
		want := 1
		if id == "r3" {
			want = 2
		}
		if got := r.provider.callsOf(id); got != want {
			t.Errorf("record %s called %d times, want %d", id, got, want)
		}
		if got := r.provider.successesOf(id); got != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, got)
		}
	}
	if s := r.polled(); s.Records < 17 {
		t.Errorf("%d records delivered, want at least 17: the replay from r3 did not happen", s.Records)
	}
}

// Two shards, read at once, share one controller: each ventilator runs a pool of half the fleet's
// concurrency, every batch is folded into the one state (step adds exactly 1 per batch, so a lost
// update would show), the mapping ends at the state's batch size, and every record is processed
// once.
func TestKinesisShardsShareOneController(t *testing.T) {
	r := newRig(t, rigOptions{Shards: 2, BatchSize: 2, Env: []string{
		"BATCH_POLICY=step", "MIN_CONCURRENCY=2", "INITIAL_CONCURRENCY=2", "MAX_CONCURRENCY=1000", "MAX_BATCH=10",
	}})
	r.provider.setDelay(20 * time.Millisecond)
	var ids, bodies []string
	for i := range 40 {
		ids = append(ids, fmt.Sprint("s", i))
		bodies = append(bodies, record(ids[i]))
	}
	r.put("", bodies...)
	r.start()
	r.eventuallySucceeded(ids)
	var batches int
	var snap controlstate.Snapshot
	r.eventually("every batch's state write, mapping update and metrics are in", func() bool {
		batches = 0
		for _, m := range r.metrics() {
			if _, calls := m["LatencyP50"]; calls {
				batches++
			}
		}
		size, _ := r.mapping()
		snap = r.controller()
		return snap.Version == int64(batches) && size == snap.State.BatchSize
	})
	// Judged on the snapshot the wait ended on: a batch Kinesis delivers again later (its records
	// already done) must not make a lost update of a count taken a moment earlier.
	if snap.State.Concurrency != 2+batches {
		t.Fatalf("after %d batches: concurrency %d, want %d: an update was lost", batches, snap.State.Concurrency, 2+batches)
	}
	for _, l := range r.logLines(map[string]any{"msg": "batch done"}) {
		c, _ := l["concurrency"].(float64)
		if l["pollers"] != 2.0 || l["pool"] != float64(max(int(c)/2, 1)) {
			t.Fatalf("batch %v: want 2 pollers, each with half the concurrency", l)
		}
	}
	if most := r.pollers[0].Stats().MaxInFlight; most != 2 {
		t.Errorf("at most %d shard batch(es) at once, want 2", most)
	}
	for _, id := range ids {
		if n := r.provider.callsOf(id); n != 1 {
			t.Errorf("record %s called %d times, want 1", id, n)
		}
	}
	t.Logf("%d batches over 2 shards; concurrency %d, batch size %d", batches, snap.State.Concurrency, snap.State.BatchSize)
}
