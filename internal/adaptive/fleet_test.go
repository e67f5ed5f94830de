package adaptive

import (
	"strings"
	"testing"
	"time"
)

func TestShareNeverAddsUpToMoreThanTheFleet(t *testing.T) {
	for conc := 1; conc <= 50; conc++ {
		for pollers := 1; pollers <= conc; pollers++ {
			if got := Share(conc, pollers); got < 1 || got*pollers > conc {
				t.Fatalf("Share(%d, %d) = %d: %d pollers would have %d calls in flight", conc, pollers, got, pollers, got*pollers)
			}
		}
	}
	if got := Share(7, 0); got != 7 {
		t.Errorf("Share(7, 0) = %d, want 7 (0 pollers reads as 1)", got)
	}
}

func TestSQSScaling(t *testing.T) {
	tests := []struct{ conc, maxConc, pool int }{
		// Two invocations at least; pools of up to SQSPool; then one more invocation per SQSPool;
		// past 1000 invocations, larger pools.
		{1, 2, 1}, {2, 2, 1}, {9, 2, 4}, {20, 2, 10}, {21, 3, 7}, {32, 4, 8},
		{1000, 100, 10}, {10000, 1000, 10}, {25000, 1000, 25},
	}
	for _, tt := range tests {
		m, p := SQSScaling(tt.conc)
		if m != tt.maxConc || p != tt.pool {
			t.Errorf("SQSScaling(%d) = %d, %d; want %d, %d", tt.conc, m, p, tt.maxConc, tt.pool)
		}
		if tt.conc >= 2 && m*p > tt.conc {
			t.Errorf("SQSScaling(%d): %d invocations of %d exceed it", tt.conc, m, p)
		}
	}
}

func TestFitsPollers(t *testing.T) {
	c := DefaultConfig()
	if err := c.FitsPollers(1); err != nil {
		t.Errorf("FitsPollers(1) = %v", err)
	}
	err := c.FitsPollers(SQSMinMaximumConcurrency)
	if err == nil || !strings.Contains(err.Error(), "MIN_CONCURRENCY") {
		t.Errorf("FitsPollers(2) with MIN_CONCURRENCY 1 = %v, want an error naming MIN_CONCURRENCY", err)
	}
}

func TestPoisonRecordDoesNotTrip(t *testing.T) {
	for _, p := range policies {
		ctl := newController(t, p, func(c *Config) { c.TripAfter = 3 })
		s := at(ctl, 1)
		// The same record fails alone, again and again: the record's fault.
		for i := range 5 {
			var d Decision
			s, d = ctl.Next(s, Summarize([]Result{{Latency: 10 * ms, Key: "poison"}}, time.Second), t0)
			if d.Trip {
				t.Fatalf("%s: tripped on the same record failing alone, batch %d (%s)", p, i+1, d.Reason)
			}
		}
		// Different records failing at the floor: the provider's fault.
		s = at(ctl, 1)
		var d Decision
		for i := range 3 {
			s, d = ctl.Next(s, Summarize([]Result{{Latency: 10 * ms, Key: "r" + string(rune('a'+i))}}, time.Second), t0)
		}
		if !d.Trip {
			t.Errorf("%s: three records failing in a row at the floor did not trip (%s)", p, d.Reason)
		}
	}
}

func TestOldStateIsAdopted(t *testing.T) {
	ctl := newController(t, PolicyAIMD, nil)
	// Written before concurrency and batch size were separate.
	s, d := ctl.Next(State{Policy: PolicyAIMD, BatchSize: 6}, sample(6, 0, 0, 100*ms), t0)
	if s.Concurrency != 7 || d.Concurrency != 7 {
		t.Errorf("old state at batch size 6 after a clean batch: concurrency %d, want 7 (%s)", d.Concurrency, d.Reason)
	}
}

func TestBatchSizeFollowsPoolAndBudget(t *testing.T) {
	ctl := newController(t, PolicyStep, func(c *Config) { c.BatchFactor = 4; c.BatchTime = 0; c.MaxBatch = 1000 })
	b := sample(10, 0, 1, 100*ms) // one slow call: step holds
	b.Pollers = 2
	s, d := ctl.Next(at(ctl, 10), b, t0)
	if d.Concurrency != 10 || d.BatchSize != 20 || s.Pollers != 2 {
		t.Errorf("10 calls shared by 2 pollers: concurrency %d batch %d pollers %d; want 10, 4 x 5 = 20", d.Concurrency, d.BatchSize, s.Pollers)
	}
	b.Budget = time.Second // half of it fits 5 rounds of 100 ms: 5 x 5 = 25, more than 20
	if _, d = ctl.Next(at(ctl, 10), b, t0); d.BatchSize != 20 {
		t.Errorf("roomy budget: batch %d, want 20", d.BatchSize)
	}
	b.Budget = 400 * time.Millisecond // half of it fits 2 rounds: 2 x 5 = 10
	if _, d = ctl.Next(at(ctl, 10), b, t0); d.BatchSize != 10 {
		t.Errorf("tight budget: batch %d, want 10", d.BatchSize)
	}
	b.Unsent = 8 // the budget ran out after 10 calls: at most 5
	if _, d = ctl.Next(at(ctl, 10), b, t0); d.BatchSize != 5 {
		t.Errorf("unsent records: batch %d, want 5", d.BatchSize)
	}
	// A fast provider: rounds enough to last BATCH_TIME.
	ctl = newController(t, PolicyStep, func(c *Config) { c.BatchTime = time.Second; c.MaxBatch = 10000 })
	b = sample(10, 0, 1, 5*ms)
	if _, d = ctl.Next(at(ctl, 10), b, t0); d.BatchSize != 2000 {
		t.Errorf("5 ms calls, 1 s batches: batch %d, want 10 x 200", d.BatchSize)
	}
}
