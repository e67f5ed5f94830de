package adaptive

import (
	"testing"
	"time"
)

// A call starts while StartFactor times the latest latency fits before the deadline, or while its
// own timeout does when no latency is known; its bound is the deadline when that comes first.
func TestFitsAndCallTimeout(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	deadline := t0.Add(10 * time.Minute)
	unknown := NewPool(ctl, ctl.Initial(t0), 1, Batch{}, time.Minute)
	if unknown.Fits(deadline.Add(-7*time.Minute), deadline, 7*time.Minute+time.Second) {
		t.Fatal("no latency known: a call whose timeout does not fit started")
	}
	if !unknown.Fits(deadline.Add(-7*time.Minute), deadline, 7*time.Minute) {
		t.Fatal("no latency known: a call whose timeout fits did not start")
	}
	s := steady(t, ctl)
	s.Baseline, s.Recent = 70*time.Second, 75*time.Second
	known := NewPool(ctl, s, 1, Batch{}, time.Minute)
	if !known.Fits(deadline.Add(-150*time.Second), deadline, 7*time.Minute) {
		t.Fatal("twice the latest latency (150s) fits, yet the call did not start")
	}
	if known.Fits(deadline.Add(-149*time.Second), deadline, 7*time.Minute) {
		t.Fatal("a call started with less than twice the latest latency left")
	}
	if got := CallTimeout(deadline.Add(-150*time.Second), deadline, 7*time.Minute); got != 150*time.Second {
		t.Fatalf("bound = %v, want the 150s left before the deadline", got)
	}
	if got := CallTimeout(t0, deadline, 7*time.Minute); got != 7*time.Minute {
		t.Fatalf("bound = %v, want the call's own timeout", got)
	}
}

// A slow provider's batch holds enough rounds to keep the pool busy while calls may start, that
// is until StartFactor latencies before the deadline, not one call timeout before it.
func TestPerCallBatchFillsTheStartWindow(t *testing.T) {
	ctl := newController(t, PolicyPace, func(c *Config) { c.MaxBatch = MaxBatchLimit })
	s := steady(t, ctl)
	s.Baseline, s.Recent = 70*time.Second, 70*time.Second
	// 890s of budget, of which calls may start for 890 - 2 x 70 = 750s: 10 rounds of 70s, and
	// two more for the calls that end early; where the timeout (450s) allowed 6 + 1.
	_, d := ctl.Next(s, Batch{Calls: 8, OKLatency: 8 * 70 * time.Second, Pool: 8,
		Budget: 890 * time.Second, StartBudget: 440 * time.Second}, t0)
	if d.BatchSize != 8*12 {
		t.Fatalf("batch size = %d, want 96 (12 rounds of 8)", d.BatchSize)
	}
}
