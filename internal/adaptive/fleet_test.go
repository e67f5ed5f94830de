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
	tests := []struct{ conc, most, maxConc, pool int }{
		// MAX_CONCURRENCY 10 (the default): 2 invocations of up to 5.
		{1, 10, 2, 1}, {2, 10, 2, 1}, {9, 10, 2, 4}, {10, 10, 2, 5}, {40, 10, 2, 5},
		// 40: 4 invocations of up to 10, as few as the concurrency needs.
		{20, 40, 2, 10}, {21, 40, 3, 7}, {40, 40, 4, 10},
		// 32: 4 invocations of up to 8 (18 calls are 3 invocations of 6, not 2 of 9).
		{18, 32, 3, 6}, {32, 32, 4, 8},
		// Past 1000 invocations of 10, larger pools.
		{10000, 10000, 1000, 10}, {25000, 25000, 1000, 25}, {2500, 25000, 100, 25},
	}
	for _, tt := range tests {
		m, p := SQSScaling(tt.conc, tt.most)
		if m != tt.maxConc || p != tt.pool {
			t.Errorf("SQSScaling(%d, %d) = %d, %d; want %d, %d", tt.conc, tt.most, m, p, tt.maxConc, tt.pool)
		}
		if tt.conc >= 2 && m*p > tt.conc {
			t.Errorf("SQSScaling(%d, %d): %d invocations of %d exceed the concurrency", tt.conc, tt.most, m, p)
		}
	}
	// Whatever MaximumConcurrency the mapping was set to earlier and whatever pool each running
	// invocation holds, they stay within MAX_CONCURRENCY.
	for most := 2; most <= 3000; most++ {
		invocations, pools := 0, 0
		for c := 1; c <= most; c++ {
			m, p := SQSScaling(c, most)
			invocations, pools = max(invocations, m), max(pools, p)
		}
		if invocations*pools > most {
			t.Fatalf("MAX_CONCURRENCY %d: up to %d invocations and pools of up to %d", most, invocations, pools)
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
