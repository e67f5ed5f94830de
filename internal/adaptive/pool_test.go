package adaptive

import (
	"testing"
	"time"
)

// steady is a pace state that knows the provider: 8 calls in flight at a baseline of 200 ms.
func steady(t *testing.T, ctl Controller) State {
	t.Helper()
	s := at(ctl, 8)
	s.Baseline, s.BaselineCalls, s.Knee, s.Good, s.Ramp = 200*time.Millisecond, 100, 8, 8, false
	return s
}

// complete feeds n calls of latency lat, sent at sent, to the pool at now, and returns the limit.
func complete(p *Pool, n int, lat time.Duration, sent, now time.Time) int {
	for range n {
		p.Done(Result{OK: true, Latency: lat}, sent, now)
	}
	return p.Limit()
}

// The brake: when the provider answers ten times slower, the pace pool's limit falls within the
// batch, at the first round of calls sent at the current limit; the knee policy keeps its limit
// until the batch ends.
func TestPoolBrakesWithinTheBatch(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, steady(t, pace), 1, Batch{}, time.Minute)
	if got := complete(p, 8, 200*time.Millisecond, t0, t0.Add(time.Second)); got != 8 {
		t.Fatalf("limit after a quiet round = %d, want 8", got)
	}
	sent := t0.Add(time.Second)
	if got := complete(p, 4, 2*time.Second, sent, sent.Add(2*time.Second)); got >= 4 {
		t.Fatalf("limit after 4 calls at 10 x the baseline = %d, want it cut to the knee (below 4) before the round ends", got)
	}
	cut := p.Limit()
	// The calls sent before the cut say nothing of the new limit: they do not cut it again.
	if got := complete(p, 4, 2*time.Second, sent, sent.Add(2*time.Second)); got != cut {
		t.Fatalf("limit after stale calls = %d, want %d", got, cut)
	}

	knee := newController(t, PolicyKnee, nil)
	k := NewPool(knee, steady(t, knee), 1, Batch{}, time.Minute)
	if got := complete(k, 16, 2*time.Second, t0, t0.Add(2*time.Second)); got != 8 {
		t.Fatalf("knee pool limit within the batch = %d, want 8 until the batch ends", got)
	}
	if s, _ := k.Settle(0, 4*time.Second, t0.Add(4*time.Second)); s.Concurrency >= 8 {
		t.Fatalf("knee after the batch: concurrency %d, want a cut", s.Concurrency)
	}
}

// Apply replays the batch's decisions: onto the state the pool began with it gives the pool's own
// result; onto a state another ventilator wrote meanwhile, the same samples decided from there.
func TestPoolApplyReplays(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	start := steady(t, pace)
	p := NewPool(pace, start, 1, Batch{}, time.Minute)
	complete(p, 4, 2*time.Second, t0, t0.Add(2*time.Second))
	own, d := p.Settle(0, 2*time.Second, t0.Add(2*time.Second))
	if got, gd := p.Apply(start); got != own || gd != d {
		t.Fatalf("Apply(start) = %+v, %+v; want the pool's own %+v, %+v", got, gd, own, d)
	}
	other := start
	other.Concurrency, other.Limit, other.Knee = 6, 6, 6
	got, _ := p.Apply(other)
	if got.Concurrency >= 6 || got == own {
		t.Fatalf("Apply(another state at 6) = %+v; want the slow calls to cut it too, from 6", got)
	}
}

// After a trip, pace ramps back up to the last known good concurrency by doubling every quiet
// round (1, 2, 4, 8: three round trips after the first call), where knee forgets it and grows by
// one call at a time past its first knee.
func TestPaceRampsUpToTheLastGoodConcurrency(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := steady(t, ctl)
	s.Tripped = true
	s, _ = ctl.Resume(s, t0)
	if s.Concurrency != 1 || s.Knee != 8 {
		t.Fatalf("resumed at %d with knee %v; want 1, ramping to 8", s.Concurrency, s.Knee)
	}
	now := t0
	var path []int
	for range 3 {
		p := NewPool(ctl, s, 1, Batch{}, time.Minute)
		sent := now
		now = now.Add(200 * time.Millisecond)
		complete(p, s.Concurrency, 200*time.Millisecond, sent, now)
		s, _ = p.Settle(0, 200*time.Millisecond, now)
		path = append(path, s.Concurrency)
	}
	if path[0] != 2 || path[1] != 4 || path[2] != 8 {
		t.Fatalf("concurrency after each round = %v, want [2 4 8]", path)
	}
}

// One record failing alone does not cut the pool; failures of two records do.
func TestPoolPoisonRecordDoesNotBrake(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	p := NewPool(ctl, steady(t, ctl), 1, Batch{}, time.Minute)
	p.Done(Result{Latency: time.Millisecond, Key: "poison"}, t0, t0)
	if p.Limit() != 8 {
		t.Fatalf("limit after one failed record = %d, want 8", p.Limit())
	}
	p.Done(Result{Latency: time.Millisecond, Key: "other"}, t0, t0)
	if p.Limit() != 1 {
		t.Fatalf("limit after two records failed = %d, want 1", p.Limit())
	}
}

// On SQS each invocation has a pool of its share, one call when the fleet's concurrency is the
// number of invocations: one call is a round there, and slow start moves on it.
func TestPaceDecidesOnASharedPoolOfOne(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := ctl.Initial(t0)
	s.Concurrency, s.Pollers = 2, 2
	s.Baseline, s.BaselineCalls = 100*time.Millisecond, 100
	p := NewPool(ctl, s, 2, Batch{}, time.Minute)
	if got := complete(p, 1, 100*time.Millisecond, t0, t0.Add(100*time.Millisecond)); got != 2 {
		t.Fatalf("pool after one quiet call = %d, want 2 (a share of 4 over 2 invocations)", got)
	}
}
