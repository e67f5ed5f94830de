package adaptive

import (
	"fmt"
	"math"
	"time"
)

// paceHold is how many quiet rounds the pace policy holds at its knee before it tries one more call
// in flight: a round is one round trip, where the knee policy's samples are whole batches.
const paceHold = 2

// paceFirstWindow is the concurrency the pace policy goes to after the first successful round at
// the floor, since the start or a wake-up, when no good concurrency is known and the provider is
// not slower than it was: slow start's first step is a doubling of 1 otherwise, one more round
// trip for no information.
const paceFirstWindow = 4

// paceBaselineCalls is the fewest calls a level needs to lower a baseline of baselineCalls calls or
// more.
const paceBaselineCalls = 64

// noiseMargin widens the knee tolerance for a latency averaged over n calls: a few calls' mean
// strays further from the provider's latency than many calls' do, and must not be taken for
// queueing. It is 1.5 tolerances over the square root of n: half the tolerance again for 9 calls.
func noiseMargin(cfg Config, n int) float64 {
	return (cfg.KneeTolerance - 1) * 1.5 / math.Sqrt(float64(max(n, 1)))
}

// joins reports whether a round of n calls at concurrency l, of mean latency lat, may join the
// provisional baseline of s. Up to twice the floor, where the ventilators' own calls cannot queue
// unless the provider serves one call at a time (and then the round is twice as slow), within the
// two means' noise margins added up: the floor's call or two may be far off; and so at any
// concurrency while the baseline is a single call (the floor's after a wake-up, which slow start
// leaves for 4 calls at once: one call drawn 20 % fast read the 4 as queueing). Above it, within
// half the noise margin of the difference of two means only: there a round may hold the
// ventilators' own queueing, and joined, it raises the baseline and with it the knee (a round at 4
// calls on a provider that serves 3 is 1.33 x; with the wide margin it joined a baseline of 3
// calls, and the concurrency sat a call above the knee).
func joins(cfg Config, s State, l int, lat time.Duration, n int) bool {
	a, b := float64(max(s.BaselineCalls, 1)), float64(max(n, 1))
	margin := (cfg.KneeTolerance - 1) * 1.5 / 2 * math.Sqrt(1/a+1/b)
	if l <= 2*cfg.MinConcurrency || s.BaselineCalls <= 1 {
		margin = noiseMargin(cfg, int(a)) + noiseMargin(cfg, int(b))
	}
	return float64(lat) <= float64(s.Baseline)*(1+margin)
}

// pace is the knee rule decided per round of completed calls (see [Pool]), for a round with
// successful calls and neither refusals nor too many failures (decide has dealt with those).
//
// A round holds only calls sent at the current concurrency, so it says how the provider answers
// it. Its latency, against the no-load baseline, cuts the concurrency to the knee at once (the
// brake), with a tolerance widened for the few calls it holds; the latency of every call sent since
// the concurrency last changed (the level) decides the slower moves: whether the concurrency is
// quiet enough to grow, and the baseline, which is the lowest level seen, and starts afresh at the
// floor, where nothing of the ventilators' own can queue.
//
// Below the knee, or with none known, slow start doubles the concurrency every quiet round, up to
// the knee; at the knee, it tries one more call after paceHold quiet rounds and goes back to the
// knee as soon as that shows queueing. The highest concurrency found quiet since the latest knee
// is kept (State.Good): after a trip, the first good round goes straight back to it (to
// paceFirstWindow when none is known, or when the floor shows the provider faster than it was;
// slower, slow start doubles from the floor), and slow start goes on from there.
func pace(cfg Config, s State, b Batch) (State, string) {
	l := s.Concurrency
	lat := b.MeanLatency()
	if s.LevelAt != l {
		s.LevelAt, s.LevelCalls, s.LevelLatency = l, 0, 0
	}
	s.LevelCalls += b.OK()
	s.LevelLatency += b.OKLatency
	n := s.LevelCalls
	level := s.LevelLatency / time.Duration(n)
	// The first round with successes since the start or a wake-up (Resume clears Recent).
	first := s.Recent == 0
	s.Recent = level

	floor := l <= cfg.MinConcurrency
	old := s.Baseline
	changed := false
	if tol := cfg.KneeTolerance + noiseMargin(cfg, n); floor && s.Baseline > 0 &&
		(float64(level) > float64(s.Baseline)*tol || float64(level)*tol < float64(s.Baseline)) {
		// Slower or faster at the floor than the baseline allows: the provider itself changed,
		// and the knee learnt against the old baseline is void, and so is the concurrency last
		// found good. Slow start finds the new ones.
		s.Knee, s.Good, changed = 0, 0, true
	}
	switch {
	case s.Baseline == 0 || changed || floor && n >= s.BaselineCalls:
		// At the floor nothing of the ventilators' own queues: its level is the baseline.
		s.Baseline, s.BaselineCalls = level, n
	case floor:
		// The floor agrees with a baseline of more calls than it has: the provider did not
		// change, and the round joins the baseline rather than replace it (a floor call or two
		// drawn 10 % low, after two poison records sent a 200 ms provider there, replaced a
		// baseline of 21 calls and held the pool under the knee for a quarter of an hour). The
		// baseline's weight is capped at paceBaselineCalls, so that the floor still corrects it.
		m := min(s.BaselineCalls, paceBaselineCalls)
		s.Baseline = (s.Baseline*time.Duration(m) + b.OKLatency) / time.Duration(m+b.OK())
		s.BaselineCalls = m + b.OK()
	case s.BaselineCalls < baselineCalls && l <= 2*cfg.MinConcurrency && b.OK() >= s.BaselineCalls &&
		float64(lat) < float64(s.Baseline)*(1-(cfg.KneeTolerance-1)*1.5/2*math.Sqrt(1/float64(max(s.BaselineCalls, 1))+1/float64(b.OK()))):
		// Faster, at the floor or twice it, than a provisional baseline of no more calls allows:
		// that one was off (a call caught in the provider's change, at twice the new latency),
		// and averaging would keep it high.
		s.Baseline, s.BaselineCalls = lat, b.OK()
	case s.BaselineCalls < baselineCalls && joins(cfg, s, l, lat, b.OK()):
		// A baseline of a few calls is provisional: rounds that agree with it join it (a mean,
		// not a minimum, which noise would bias low).
		m := s.BaselineCalls + b.OK()
		s.Baseline = (s.Baseline*time.Duration(s.BaselineCalls) + b.OKLatency) / time.Duration(m)
		s.BaselineCalls = m
	case n >= paceBaselineCalls && level < s.Baseline:
		// The lowest of many levels: each of at least paceBaselineCalls calls, since the
		// minimum of many noisy means is lower than the provider's latency.
		s.Baseline, s.BaselineCalls = level, n
	}

	round := float64(lat) / float64(s.Baseline)
	ratio := float64(level) / float64(s.Baseline)
	brake := round > cfg.KneeTolerance+noiseMargin(cfg, b.OK())
	if brake || ratio > cfg.KneeTolerance+noiseMargin(cfg, n) {
		if brake {
			ratio = round
		}
		knee := float64(l) / ratio
		next := probeBack(cfg, s, l, min(max(int(math.Round(knee)), cfg.MinConcurrency), l), ratio)
		s = paceTo(goodCut(kneeCut(s, next, true)), l)
		return s, fmt.Sprintf("pace: latency %v is %.2f x the baseline %v at %d: knee at %.1f, %d",
			lat, ratio, s.Baseline, l, knee, s.Concurrency)
	}
	// The holds below keep a quiet concurrency from growing; latency that has started to rise
	// cuts all the same (5 calls of a provider that serves 3, some of them slow, held at 5).
	quiet := ratio <= quietRatio(cfg)+noiseMargin(cfg, n)/2
	switch {
	case quiet && b.BadRatio() > cfg.BackoffRatio/10:
		// A few failures are the records' own (a poison record fails at any concurrency); more
		// are a reason not to grow.
		s.Ramp = false
		return s, fmt.Sprintf("pace: %d of %d calls slow or failed: hold at %d", b.Bad(), b.Calls, l)
	case quiet && b.Pool > 0 && b.Pool < Share(l, s.Pollers):
		// Fewer calls were in flight than allowed: the batch ran short of records, and the round
		// says nothing of a higher concurrency.
		s.Ramp = false
		return s, fmt.Sprintf("pace: at most %d of %d calls in flight: hold", b.Pool, Share(l, s.Pollers))
	}
	if quiet {
		s.Good = max(s.Good, float64(l))
	}
	switch {
	case !quiet:
		// Latency has started to rise: the knee is l or below, where the latency says.
		knee := min(l, int(math.Round(float64(l)/ratio)))
		if s.Knee > 0 {
			knee = min(knee, int(s.Knee))
		}
		s = paceTo(goodCut(kneeCut(s, probeBack(cfg, s, l, max(knee, cfg.MinConcurrency), ratio), true)), l)
		return s, fmt.Sprintf("pace: latency %v at %d is %.2f x the baseline: knee at %d", level, l, ratio, s.Concurrency)
	case s.Knee == 0 || s.Knee > float64(l):
		next := min(2*l, slowCap(cfg, l, level))
		if first && !(changed && level > old) {
			// The first good round after a wake-up or the start: a larger first step than 2 (a
			// round trip of a 70 s provider is worth saving); and when the provider answers at
			// the latency it had (the floor would have voided Good otherwise), straight back to
			// the concurrency it last served quietly. Not when it answers slower than it did:
			// a provider that slowed down has as a rule shrunk too, and the round of
			// paceFirstWindow would be judged against the floor's single call, within that
			// call's wide noise margin (see joins): on a FIFO provider that serves 3, 4 calls
			// answer 1.25 x slower, joined the baseline as no queueing, and the pool held 4 to
			// the end of the phase. Doubling goes through twice the floor, where nothing of
			// the ventilators' own queues, and the baseline holds 3 calls before it is read
			// above it.
			next = max(next, paceFirstWindow, int(s.Good))
		}
		if s.Knee > float64(l) {
			next = min(next, int(s.Knee))
		}
		s.Concurrency, s.Limit, s.Ramp = next, float64(next), true
		return paceTo(s, l), fmt.Sprintf("pace: latency %v at %d, %.2f x the baseline: slow start to %d", level, l, ratio, next)
	case quiet && s.Samples >= paceHold:
		s.Knee = float64(l)
		s.Concurrency, s.Limit, s.Ramp = l+1, float64(l+1), false
		return paceTo(s, l), fmt.Sprintf("pace: latency %v at %d, %.2f x the baseline: try %d", level, l, ratio, l+1)
	default:
		s.Ramp = false
		return s, fmt.Sprintf("pace: latency %v at %d, %.2f x the baseline: hold", level, l, ratio)
	}
}

// slowCap bounds a slow-start step from l calls answering in level: if l were the knee, latency
// would grow in proportion beyond it, and a step that would take it past the slow-call threshold
// (with the knee tolerance to spare) turns every call slow and opens the circuit on the slow-call
// rate. Near the threshold slow start therefore grows one call at a time. A 70 s provider that
// shrank to 3 calls of 210 s (slow-call threshold 350 s) goes 1, 2, 3, 4, not 1, 2, 4, 8.
func slowCap(cfg Config, l int, level time.Duration) int {
	if cfg.SlowCall <= 0 || level <= 0 {
		return math.MaxInt
	}
	return max(l+1, int(float64(l)*float64(cfg.SlowCall)/(float64(level)*cfg.KneeTolerance)))
}

// goodCut lowers the last known good concurrency to the knee just measured: what slow start ramps
// back up to after a trip is the concurrency the provider last served without queueing, not the
// highest it ever did (a provider that shrank would be overrun again at every wake-up).
func goodCut(s State) State {
	s.Good = min(s.Good, s.Knee)
	return s
}

// probeBack bounds a cut from l to next: a probe above the knee that shows latency risen by less
// than KneeTolerance squared goes back to the knee, not below it. Above the knee latency rises
// by a call's share (1.125 x for 9 calls on a provider that serves 8), and a baseline read a few
// percent low made that look like 1.3 x and cut to 7, under the knee; the rounds at the knee say
// whether it is still right. A larger rise (the provider shrank under the probe) cuts as far as
// the latency says.
func probeBack(cfg Config, s State, l, next int, ratio float64) int {
	if s.Knee > 0 && float64(l) > s.Knee && ratio <= cfg.KneeTolerance*cfg.KneeTolerance {
		return max(next, min(int(s.Knee), l))
	}
	return next
}

// paceTo starts counting rounds afresh when the concurrency moved from l.
func paceTo(s State, l int) State {
	if s.Concurrency != l {
		s.Samples = 0
	}
	return s
}
