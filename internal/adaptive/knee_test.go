package adaptive

import (
	"strings"
	"testing"
	"time"
)

// shared is a provider of capacity c and base latency base under processor sharing: n calls in
// flight each take base*max(1, n/c).
func shared(c int, base time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		return time.Duration(float64(base) * max(1, float64(n)/float64(c)))
	}
}

// drive feeds ctl batches of 4 calls per unit of concurrency at the latency lat gives, for rounds
// decisions, and returns the concurrencies decided.
func drive(t *testing.T, ctl Controller, s State, lat func(int) time.Duration, rounds int) (State, []int) {
	t.Helper()
	var got []int
	now := t0
	for range rounds {
		n := s.Concurrency
		b := sample(4*n, 0, 0, lat(n))
		var d Decision
		s, d = ctl.Next(s, b, now)
		if d.Trip {
			t.Fatalf("tripped on a healthy provider (%s)", d.Reason)
		}
		got = append(got, d.Concurrency)
		now = now.Add(time.Second)
	}
	return s, got
}

func TestKneeFindsTheCapacityAndHoldsThere(t *testing.T) {
	ctl := newController(t, PolicyKnee, nil)
	s, got := drive(t, ctl, ctl.Initial(t0), shared(8, 200*ms), 40)
	// Slow start: 2, 4, 8, 16 (latency doubles at 16), then straight back to the knee, 8.
	if want := []int{2, 4, 8, 16, 8}; !equalInts(got[:5], want) {
		t.Fatalf("first decisions %v, want %v", got[:5], want)
	}
	if s.Knee < 8 || s.Knee > 9 {
		t.Errorf("knee %v, want 8 (or 9 while probing)", s.Knee)
	}
	over := 0
	for _, n := range got[5:] {
		if n < 8 || n > 9 {
			t.Fatalf("after finding the knee: %v; want 8, with an occasional 9", got)
		}
		if n == 9 {
			over++
		}
	}
	if over > len(got[5:])/3 {
		t.Errorf("%d of %d decisions over the knee: %v", over, len(got[5:]), got)
	}
}

func TestKneeFollowsASmallerSlowerProvider(t *testing.T) {
	ctl := newController(t, PolicyKnee, nil)
	s, _ := drive(t, ctl, ctl.Initial(t0), shared(8, 200*ms), 20)
	// Now 3 calls at once, each 600 ms: the baseline is wrong too, and must be measured again.
	_, got := drive(t, ctl, s, shared(3, 600*ms), 30)
	tail := got[len(got)-10:]
	for _, n := range tail {
		if n < 3 || n > 4 {
			t.Fatalf("degraded provider: %v; want it to settle at 3 (4 while probing)", got)
		}
	}
}

func TestKneeRefusalsMarkTheLimit(t *testing.T) {
	ctl := newController(t, PolicyKnee, nil)
	s := at(ctl, 6)
	s.Knee, s.Baseline, s.BaselineAt = 6, 100*ms, t0.UnixMilli()
	b := sample(24, 3, 0, 100*ms)
	b.Refused = 3
	s, d := ctl.Next(s, b, t0)
	if d.Concurrency != 5 || s.Knee != 5 || !strings.Contains(d.Reason, "refused") {
		t.Fatalf("3 of 24 refused at 6: concurrency %d knee %v (%s); want 5, 5", d.Concurrency, s.Knee, d.Reason)
	}
	// It holds there for kneeHold samples before trying one more.
	for i := range kneeHold - 1 {
		if s, d = ctl.Next(s, sample(20, 0, 0, 100*ms), t0); d.Concurrency != 5 {
			t.Fatalf("quiet sample %d after a refusal: %d, want a hold at 5 (%s)", i+1, d.Concurrency, d.Reason)
		}
	}
	if _, d = ctl.Next(s, sample(20, 0, 0, 100*ms), t0); d.Concurrency != 6 {
		t.Errorf("after %d quiet samples: %d, want 6 (%s)", kneeHold, d.Concurrency, d.Reason)
	}
	// Many calls refused: the provider's limit is what it accepted at once, by Little's law: 4
	// successes of 100 ms in 100 ms.
	b = sample(24, 20, 0, 100*ms)
	b.Refused, b.Elapsed = 20, 100*ms
	if _, d = ctl.Next(at(ctl, 8), b, t0); d.Concurrency != 4 {
		t.Errorf("20 of 24 refused at 8, 4 accepted at once: %d, want 4 (%s)", d.Concurrency, d.Reason)
	}
}

func TestKneeBacksOffOnErrors(t *testing.T) {
	ctl := newController(t, PolicyKnee, nil)
	if _, d := ctl.Next(at(ctl, 8), sample(32, 20, 0, 100*ms), t0); d.Concurrency != 4 {
		t.Errorf("20 of 32 failed at 8: %d, want 4 (%s)", d.Concurrency, d.Reason)
	}
	if _, d := ctl.Next(at(ctl, 8), sample(32, 32, 0, 0), t0); d.Concurrency != 1 || d.Trip {
		t.Errorf("all failed at 8: %d trip %v, want 1 without a trip (%s)", d.Concurrency, d.Trip, d.Reason)
	}
	s := at(ctl, 8)
	s.Knee, s.Baseline, s.BaselineAt = 8, 100*ms, t0.UnixMilli()
	if _, d := ctl.Next(s, sample(32, 2, 0, 100*ms), t0); d.Concurrency != 8 {
		t.Errorf("2 of 32 failed at the knee: %d, want a hold at 8 (%s)", d.Concurrency, d.Reason)
	}
}

func TestKneeRampsWithShortBatches(t *testing.T) {
	ctl := newController(t, PolicyKnee, func(c *Config) { c.BatchTime = 0; c.MaxBatch = 1000 })
	s, d := ctl.Resume(State{Policy: PolicyKnee, Concurrency: 1, Tripped: true, Knee: 8}, t0)
	if !s.Ramp || d.BatchSize != rampCalls || d.Concurrency != 1 || s.Knee != 0 {
		t.Fatalf("Resume: ramp %v batch %d concurrency %d knee %v; want a ramp at 1 with batches of %d calls and the old knee forgotten",
			s.Ramp, d.BatchSize, d.Concurrency, s.Knee, rampCalls)
	}
	s, d = ctl.Next(s, sample(4, 0, 0, 100*ms), t0)
	if d.Concurrency != 2 || d.BatchSize != 4 {
		t.Errorf("after the first calls: concurrency %d batch %d; want 2, 4 (%s)", d.Concurrency, d.BatchSize, d.Reason)
	}
	s, d = ctl.Next(s, sample(4, 0, 0, 100*ms), t0)
	if d.Concurrency != 4 || d.BatchSize != 4 {
		t.Errorf("ramping at 4: concurrency %d batch %d; want 4, one round of 4 (%s)", d.Concurrency, d.BatchSize, d.Reason)
	}
	s.Concurrency, s.Limit, s.Knee = 8, 8, 8
	if _, d = ctl.Next(s, sample(8, 0, 0, 100*ms), t0); d.Concurrency != 8 || d.BatchSize != 128 {
		t.Errorf("at the knee: concurrency %d batch %d; want 8 and 16 rounds of batch (%s)", d.Concurrency, d.BatchSize, d.Reason)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKneeProvisionalBaselineMarksNoKnee(t *testing.T) {
	ctl := newController(t, PolicyKnee, nil)
	s := ctl.Initial(t0)
	// Four calls at the floor, 20 % faster than the provider's real 100 ms: a provisional baseline.
	s, _ = ctl.Next(s, sample(4, 0, 0, 80*ms), t0)
	if s.Baseline != 80*ms || s.BaselineAt != 0 || s.Concurrency != 2 {
		t.Fatalf("after four calls: baseline %v at %d, concurrency %d; want a provisional 80ms and slow start to 2", s.Baseline, s.BaselineAt, s.Concurrency)
	}
	// A few calls at 2 read 1.25 x that: too few to tell queueing from a lucky first call.
	s, d := ctl.Next(s, sample(4, 0, 0, 100*ms), t0)
	if s.Knee != 0 || d.Concurrency != 2 {
		t.Fatalf("4 calls at 1.25 x a provisional baseline: knee %v concurrency %d; want a cut that marks no knee (%s)", s.Knee, d.Concurrency, d.Reason)
	}
	// A large sample at 2 calls replaces it.
	s, d = ctl.Next(s, sample(32, 0, 0, 100*ms), t0.Add(time.Second))
	if s.Baseline != 100*ms || s.BaselineAt == 0 {
		t.Errorf("32 calls at 2: baseline %v at %d; want 100ms, no longer provisional (%s)", s.Baseline, s.BaselineAt, d.Reason)
	}
}
