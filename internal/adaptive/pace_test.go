package adaptive

import (
	"testing"
	"time"
)

// A provisional baseline (a few calls, measured at the floor) is not raised by a round that holds
// the ventilators' own queueing: 4 calls on a provider that serves 3 answer 1.3 x slower, which
// marks the knee at 3 rather than joining the baseline (the degraded 200 ms providers of `make
// sim` sat a call above their knee, and their circuit opened on the slow calls).
func TestPaceProvisionalBaselineKeepsQueueingOut(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := at(ctl, 4)
	s.Baseline, s.BaselineCalls, s.Ramp = 600*time.Millisecond, 3, true
	s, d := ctl.Next(s, sample(4, 0, 0, 780*time.Millisecond), t0)
	if s.Baseline != 600*time.Millisecond {
		t.Fatalf("baseline after a round at 1.3 x = %v, want 600ms kept (%s)", s.Baseline, d.Reason)
	}
	if d.Concurrency != 3 || s.Knee != 3 {
		t.Fatalf("concurrency %d, knee %v after a round at 1.3 x on 4 calls; want 3 and 3 (%s)", d.Concurrency, s.Knee, d.Reason)
	}
	// A round that agrees with it within its noise joins it.
	s = at(ctl, 2)
	s.Baseline, s.BaselineCalls, s.Ramp = 600*time.Millisecond, 1, true
	s, d = ctl.Next(s, sample(2, 0, 0, 630*time.Millisecond), t0)
	if s.BaselineCalls != 3 || s.Baseline != 620*time.Millisecond {
		t.Fatalf("baseline after a round at 1.05 x = %v of %d calls, want 620ms of 3 (%s)", s.Baseline, s.BaselineCalls, d.Reason)
	}
}

// Slow calls (over SLOW_CALL) on a provider whose baseline is known are read as latency: the pool
// cuts straight to the knee they show and remembers it, where halving with no knee learnt doubled
// back into the same slow calls a round later.
func TestPaceReadsSlowCallsAsLatency(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := steady(t, ctl)
	s.Knee = 0
	s, d := ctl.Next(s, sample(4, 0, 4, 1600*time.Millisecond), t0)
	if d.Concurrency != 1 || s.Knee != 1 {
		t.Fatalf("after 4 calls at 8 x the baseline, all slow: concurrency %d, knee %v; want 1 and 1 (%s)", d.Concurrency, s.Knee, d.Reason)
	}
	s = steady(t, ctl)
	s.Knee = 0
	s, d = ctl.Next(s, sample(4, 0, 4, 400*time.Millisecond), t0)
	if d.Concurrency != 4 || s.Knee != 4 {
		t.Fatalf("after 4 calls at 2 x the baseline, all slow: concurrency %d, knee %v; want 4 and 4 (%s)", d.Concurrency, s.Knee, d.Reason)
	}
}

// A probe one call above the knee that shows latency risen by less than KneeTolerance squared goes
// back to the knee, not under it: 9 calls on a provider that serves 8 read 1.3 x against a
// baseline a few percent low, and cut to 7 (a seventh of the provider left idle). A larger rise,
// the provider shrinking under the probe, cuts as far as the latency says.
func TestPaceProbeGoesBackToTheKnee(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := steady(t, ctl)
	s.Concurrency, s.Limit = 9, 9
	got, d := ctl.Next(s, sample(9, 0, 0, 260*time.Millisecond), t0)
	if d.Concurrency != 8 || got.Knee != 8 {
		t.Fatalf("probe at 9 at 1.3 x: concurrency %d, knee %v; want back to 8 (%s)", d.Concurrency, got.Knee, d.Reason)
	}
	got, d = ctl.Next(s, sample(9, 0, 0, 600*time.Millisecond), t0)
	if d.Concurrency != 3 {
		t.Fatalf("probe at 9 at 3 x: concurrency %d, want 3 (%s)", d.Concurrency, d.Reason)
	}
}

// A provisional baseline read from one call caught in the provider's change (twice the new
// latency) is replaced by a round at twice the floor that is far faster, not averaged with it:
// averaged, it stayed a third too high and the 5 ms shared provider sat at 4 calls on 3 (1.42 x).
func TestPaceFloorRoundReplacesAnOffBaseline(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := at(ctl, 2)
	s.Baseline, s.BaselineCalls, s.Ramp = 30*time.Millisecond, 1, true
	s, d := ctl.Next(s, sample(2, 0, 0, 16*time.Millisecond), t0)
	if s.Baseline != 16*time.Millisecond || s.BaselineCalls != 2 {
		t.Fatalf("baseline after a round at 0.53 x = %v of %d calls, want 16ms of 2 (%s)", s.Baseline, s.BaselineCalls, d.Reason)
	}
}

// A pace batch holds perCallRounds x BATCH_FACTOR rounds once the latency is known: its pool
// decides as calls complete, so the length costs no decision, and the drain at its end (half a
// round) is a quarter of what BATCH_FACTOR rounds lose; the start window still bounds it. A
// wake-up's first batch takes the baseline for its latency, and is as long.
func TestPaceBatchHoldsManyRounds(t *testing.T) {
	ctl := newController(t, PolicyPace, func(c *Config) { c.BatchTime = 0; c.MaxBatch = 10000 })
	s := steady(t, ctl)
	_, d := ctl.Next(s, sample(8, 0, 0, 200*time.Millisecond), t0)
	if want := 8 * perCallRounds * 16; d.BatchSize != want {
		t.Fatalf("batch at 8 calls of 200 ms: %d, want %d (%s)", d.BatchSize, want, d.Reason)
	}
	b := sample(8, 0, 0, 200*time.Millisecond)
	// A budget of 2.4 s and a call timeout of 1 s: calls start while twice their 200 ms fit, for
	// 2 s, 10 rounds; and two more, the one started last and one for the calls that end early.
	b.Budget, b.StartBudget = 2400*time.Millisecond, 1400*time.Millisecond
	if _, d = ctl.Next(s, b, t0); d.BatchSize != 8*12 {
		t.Fatalf("batch within a start window of 10 rounds: %d, want %d", d.BatchSize, 8*12)
	}
	s.Tripped = true
	s, _ = ctl.Resume(s, t0)
	if want := 8 * perCallRounds * 16; s.BatchSize != want {
		t.Fatalf("batch after a wake-up: %d, want %d (slow start towards the knee of 8, at the baseline's latency)", s.BatchSize, want)
	}
}

// Under pace a round at the floor is one call, so two poison records retried one after the other
// would be two records failing in a row: it trips on the third failing round, from two records or
// more, where the knee policy trips on one failing batch of two records.
func TestPaceTripsOnThreeFailingRoundsAtTheFloor(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := at(ctl, 1)
	fail := func(key string) Batch {
		b := sample(1, 1, 0, 0)
		b.FailedKey, b.FailedKeys = key, 1
		return b
	}
	var d Decision
	for i, key := range []string{"poison-1", "poison-2"} {
		if s, d = ctl.Next(s, fail(key), t0); d.Trip {
			t.Fatalf("tripped on failing round %d at the floor: %s", i+1, d.Reason)
		}
	}
	if _, d = ctl.Next(s, fail("poison-3"), t0); !d.Trip {
		t.Fatalf("no trip after three failing rounds of three records at the floor: %s", d.Reason)
	}

	knee := newController(t, PolicyKnee, nil)
	b := sample(2, 2, 0, 0)
	b.FailedKey, b.FailedKeys = "a", 2
	if _, d = knee.Next(at(knee, 1), b, t0); !d.Trip {
		t.Fatalf("knee: no trip on a batch of two records failing at the floor: %s", d.Reason)
	}
}

// A baseline of one call, the floor's after a wake-up, is joined by the first window's round
// within both means' noise, as the floor's rounds are: one call may be far off (a 30 s provider's
// floor call drawn at 25 s read the first window's 4 quiet calls at 31 s as 1.24 x, a knee at 3,
// and the recovery then probed up one call per two round trips: 5.4 x its target).
func TestPaceOneCallBaselineJoinsTheFirstWindow(t *testing.T) {
	ctl := newController(t, PolicyPace, func(c *Config) { c.SlowCall = 150 * time.Second })
	s := at(ctl, 4)
	s.Baseline, s.BaselineCalls, s.Ramp = 25*time.Second, 1, true
	s, d := ctl.Next(s, sample(4, 0, 0, 31*time.Second), t0)
	if s.BaselineCalls != 5 || s.Baseline != 29800*time.Millisecond {
		t.Fatalf("baseline after 4 calls at 1.24 x one call = %v of %d calls, want 29.8s of 5 (%s)", s.Baseline, s.BaselineCalls, d.Reason)
	}
	if d.Concurrency != 8 || s.Knee != 0 {
		t.Fatalf("concurrency %d, knee %v; want slow start to 8, no knee (%s)", d.Concurrency, s.Knee, d.Reason)
	}
}

// A round whose latency has started to rise cuts to the knee it shows even when some of its calls
// were slow: the hold for slow or failed calls keeps a quiet concurrency from growing, and held
// 5 calls on a 70 s provider shrunk to 3 (slow calls at every round) for a whole degraded phase.
func TestPaceRisingLatencyCutsDespiteSlowCalls(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := at(ctl, 5)
	s.Baseline, s.BaselineCalls = 200*time.Millisecond, 100
	s, d := ctl.Next(s, sample(5, 0, 2, 256*time.Millisecond), t0)
	if d.Concurrency != 4 || s.Knee != 4 {
		t.Fatalf("5 calls at 1.28 x, 2 of them slow: concurrency %d, knee %v; want 4 and 4 (%s)", d.Concurrency, s.Knee, d.Reason)
	}
	// Quiet, the same slow calls hold.
	s = at(ctl, 5)
	s.Baseline, s.BaselineCalls = 200*time.Millisecond, 100
	s, d = ctl.Next(s, sample(5, 0, 2, 200*time.Millisecond), t0)
	if d.Concurrency != 5 {
		t.Fatalf("5 quiet calls, 2 of them slow: concurrency %d, want held at 5 (%s)", d.Concurrency, d.Reason)
	}
}

// A floor round that agrees with a baseline of more calls joins it, with the baseline's weight
// capped at paceBaselineCalls: two poison records sent a 200 ms FIFO provider to the floor, where
// one call drawn 10 % low replaced a baseline of 21 calls, and the pool sat under the knee for a
// quarter of an hour. A floor round that disagrees (the provider changed) still replaces it.
func TestPaceFloorKeepsAnAgreeingBaseline(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := steady(t, ctl)
	s.Concurrency, s.Limit = 1, 1
	got, d := ctl.Next(s, sample(1, 0, 0, 180*time.Millisecond), t0)
	if want := (64*200*time.Millisecond + 180*time.Millisecond) / 65; got.Baseline != want || got.BaselineCalls != 65 || got.Good != 8 {
		t.Fatalf("after one floor call at 0.9 x: baseline %v of %d calls, good %v; want %v of 65, 8 (%s)", got.Baseline, got.BaselineCalls, got.Good, want, d.Reason)
	}
	got, d = ctl.Next(s, sample(1, 0, 0, 600*time.Millisecond), t0)
	if got.Baseline != 600*time.Millisecond || got.BaselineCalls != 1 || got.Knee != 0 {
		t.Fatalf("after one floor call at 3 x: baseline %v of %d calls, knee %v; want 600ms of 1, none (%s)", got.Baseline, got.BaselineCalls, got.Knee, d.Reason)
	}
}
