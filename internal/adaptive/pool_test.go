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

// Calls sent before a decision that held or raised the limit still brake it when they come back
// slow: the provider shrank under the calls in flight, and waiting for a round of fresh calls
// would leave those to queue into their timeouts.
func TestPoolStaleCallsBrakeAfterAHold(t *testing.T) {
	pace := newController(t, PolicyPace, nil)
	p := NewPool(pace, steady(t, pace), 1, Batch{}, time.Minute)
	if got := complete(p, 8, 200*time.Millisecond, t0, t0.Add(time.Second)); got != 8 {
		t.Fatalf("limit after a quiet round = %d, want 8", got)
	}
	// Sent before that decision (a hold), answered at 3 x the baseline.
	if got := complete(p, 4, 600*time.Millisecond, t0, t0.Add(2*time.Second)); got >= 8 {
		t.Fatalf("limit after 4 stale calls at 3 x the baseline = %d, want a cut", got)
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

// resumeRounds resumes s after a trip and plays rounds of calls of latency lat, each a full pool,
// returning the concurrency after each round.
func resumeRounds(t *testing.T, ctl Controller, s State, lat time.Duration, rounds int) []int {
	t.Helper()
	s.Tripped = true
	s, _ = ctl.Resume(s, t0)
	if s.Concurrency != 1 {
		t.Fatalf("resumed at %d, want 1", s.Concurrency)
	}
	now := t0
	var path []int
	for range rounds {
		p := NewPool(ctl, s, 1, Batch{}, time.Minute)
		sent := now
		now = now.Add(lat)
		complete(p, s.Concurrency, lat, sent, now)
		s, _ = p.Settle(0, lat, now)
		path = append(path, s.Concurrency)
	}
	return path
}

// After a trip, once a call succeeds at the provider's old latency, pace goes straight back to the
// last known good concurrency (one round trip after the first call, where doubling from 1 took
// three), then probes above it.
func TestPaceResumesAtTheLastGoodConcurrency(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	if path := resumeRounds(t, ctl, steady(t, ctl), 200*time.Millisecond, 3); path[0] != 8 || path[2] != 9 {
		t.Fatalf("concurrency after each round = %v, want [8 8 9]", path)
	}
}

// A provider that comes back faster or slower than before the trip is another provider: what was
// learnt of it is void, and slow start begins afresh: faster, with a first window of 4, then
// doubling; slower, by doubling from the floor, so that the baseline holds the floor's call and
// the 2 of twice the floor before a round above it is read against it.
func TestPaceResumesAfreshWhenTheProviderChanged(t *testing.T) {
	ctl := newController(t, PolicyPace, func(c *Config) { c.SlowCall = time.Minute })
	if path := resumeRounds(t, ctl, steady(t, ctl), 50*time.Millisecond, 3); path[0] != paceFirstWindow || path[1] != 8 || path[2] != 16 {
		t.Fatalf("faster: concurrency after each round = %v, want [4 8 16]", path)
	}
	if path := resumeRounds(t, ctl, steady(t, ctl), 600*time.Millisecond, 3); path[0] != 2 || path[1] != 4 || path[2] != 8 {
		t.Fatalf("slower: concurrency after each round = %v, want [2 4 8]", path)
	}
}

// A provider that comes back slower has as a rule shrunk too. Its first window of 4 was read
// against the floor's single call, within that call's wide noise margin: on a FIFO provider that
// serves 3 at 3 x the old latency, 4 calls answer 1.25 x slower than the floor, joined the
// baseline as no queueing, and the pool held 4 to the end of the phase (`make sim`, 70 s FIFO,
// seed 24: 1.28 x C). Through twice the floor, the same round meets a baseline of 3 calls and
// marks the knee at 3.
func TestPaceSlowerProviderReachesItsKneeThroughTwiceTheFloor(t *testing.T) {
	ctl := newController(t, PolicyPace, func(c *Config) { c.SlowCall = time.Hour })
	s := steady(t, ctl)
	s.Tripped = true
	s, _ = ctl.Resume(s, t0)
	floor := 3 * 200 * time.Millisecond
	s, d := ctl.Next(s, sample(1, 0, 0, floor), t0)
	if d.Concurrency != 2 {
		t.Fatalf("after the floor's call at 3 x: concurrency %d, want 2 (%s)", d.Concurrency, d.Reason)
	}
	s, d = ctl.Next(s, sample(2, 0, 0, floor), t0)
	if d.Concurrency != 4 || s.BaselineCalls != 3 {
		t.Fatalf("after 2 calls at the floor's latency: concurrency %d, baseline of %d calls; want 4 and 3 (%s)", d.Concurrency, s.BaselineCalls, d.Reason)
	}
	s, d = ctl.Next(s, sample(4, 0, 0, floor*5/4), t0)
	if d.Concurrency != 3 || s.Baseline != floor {
		t.Fatalf("after 4 calls at 1.25 x: concurrency %d, baseline %v; want 3 and %v (%s)", d.Concurrency, s.Baseline, floor, d.Reason)
	}
}

// A knee measured below the last good concurrency lowers it: a provider that shrank is not
// overrun again at the next wake-up.
func TestPaceKneeLowersTheLastGoodConcurrency(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := steady(t, ctl)
	p := NewPool(ctl, s, 1, Batch{}, time.Minute)
	complete(p, 8, 400*time.Millisecond, t0, t0.Add(400*time.Millisecond))
	s, _ = p.Settle(0, time.Second, t0.Add(time.Second))
	if s.Knee != 4 || s.Good != 4 {
		t.Fatalf("after a round at twice the baseline: knee %v, good %v; want both 4", s.Knee, s.Good)
	}
}

// A refusal with another record's failure in one round is a limit, not an outage: one call less,
// not back to the floor.
func TestPaceRefusalAndFailureAreNoOutage(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	p := NewPool(ctl, steady(t, ctl), 1, Batch{}, time.Minute)
	p.Done(Result{Latency: time.Millisecond, Key: "poison"}, t0, t0.Add(time.Millisecond))
	p.Done(Result{Refused: true, Latency: time.Millisecond, Key: "a"}, t0, t0.Add(2*time.Millisecond))
	if got := p.Limit(); got != 7 {
		t.Fatalf("limit = %d, want 7 (one less for the refusal)", got)
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

// A ventilator sharing the fleet with another (two Kinesis shards) has a pool of its share, one
// call when the fleet's concurrency is the number of ventilators: one call is a round there, and
// slow start moves on it.
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

// An SQS invocation's pool is SQSScaling's at the concurrency decided so far, never its share of
// the invocations it began among: Lambda starts more invocations as the mapping's
// MaximumConcurrency rises while the ones under way keep their pools, and a share that grew within
// each batch took an SQS fleet past MAX_CONCURRENCY (38 calls in flight against 32 in make sim's
// 5 ms provider). Under MAX_CONCURRENCY 32, 20 calls are 3 invocations of 6, and 16 are 2 of 8: a
// pool that began among 2 invocations and whose fleet grew to 17 keeps 5, as each of the 3
// invocations the mapping is about to run will.
func TestSQSPoolKeepsSQSScalingsPool(t *testing.T) {
	ctl := newController(t, PolicyPace, nil)
	s := steady(t, ctl)
	s.Concurrency, s.Knee, s.Good = 20, 20, 20
	if got := NewSQSPool(ctl, s, 32, Batch{}, time.Minute).Limit(); got != 6 {
		t.Fatalf("pool at concurrency 20 under MAX_CONCURRENCY 32 = %d, want 6 (3 invocations of 6)", got)
	}
	s.Concurrency, s.Knee, s.Good = 16, 16, 16
	p := NewSQSPool(ctl, s, 32, Batch{}, time.Minute)
	if got := p.Limit(); got != 8 {
		t.Fatalf("pool at concurrency 16 = %d, want 8 (2 invocations of 8)", got)
	}
	// Quiet rounds at the knee: after paceHold of them the pace policy tries one more call.
	for i := range paceHold + 1 {
		complete(p, 8, 200*time.Millisecond, t0.Add(time.Duration(i)*time.Second), t0.Add(time.Duration(i+1)*time.Second))
	}
	if c := p.state.Concurrency; c != 17 {
		t.Fatalf("fleet concurrency after quiet rounds at the knee = %d, want 17", c)
	}
	if got := p.Limit(); got != 5 {
		t.Fatalf("pool at concurrency 17 = %d, want SQSScaling's 5 (3 invocations), not 8 of 2", got)
	}
	if got := p.sample().Pollers; got != 3 {
		t.Fatalf("the next sample names %d pollers, want the 3 invocations of concurrency 17", got)
	}
}

// Slow start grows one call at a time once doubling could take latency past the slow-call
// threshold: a 70 s provider that shrank to 3 calls of 210 s (threshold 350 s) is not doubled from
// 2 to 4 nor from 4 to 8, where its calls would all be slow and time out.
func TestPaceSlowStartStopsDoublingNearTheSlowCallThreshold(t *testing.T) {
	ctl := newController(t, PolicyPace, func(c *Config) { c.SlowCall = 350 * time.Second })
	s := at(ctl, 2)
	s.Baseline, s.BaselineCalls, s.Recent, s.Ramp = 210*time.Second, 3, 210*time.Second, true
	s, d := ctl.Next(s, sample(2, 0, 0, 210*time.Second), t0)
	if d.Concurrency != 3 {
		t.Fatalf("from 2 calls of 210s: concurrency %d, want 3 (%s)", d.Concurrency, d.Reason)
	}
	s = at(ctl, 2)
	s.Baseline, s.BaselineCalls, s.Recent, s.Ramp = 70*time.Second, 3, 70*time.Second, true
	if _, d = ctl.Next(s, sample(2, 0, 0, 70*time.Second), t0); d.Concurrency != 4 {
		t.Fatalf("from 2 calls of 70s: concurrency %d, want 4, doubling (%s)", d.Concurrency, d.Reason)
	}
}
