package adaptive

import (
	"fmt"
	"math"
	"time"
)

// kneeHold is how many samples the knee policy holds at a concurrency it cut to before it tries one
// more call in flight.
const kneeHold = 4

// baselineCalls is the fewest successful calls a sample needs to lower the baseline.
const baselineCalls = 16

// rampCalls is the fewest calls a slow-start sample needs, so that one noisy call cannot stop it.
const rampCalls = 4

// kneePolicy finds the provider's knee: the concurrency at which latency starts to rise above its
// no-load baseline, in the manner of TCP Vegas and BBR (and of Netflix concurrency-limits' Vegas and
// Gradient limiters). With L calls in flight, a provider that serves C at once answers in its base
// latency while L <= C and in about base*L/C beyond (Little's law, whether it shares its capacity
// or queues the excess), so
//
//	knee = L * baseline / latency
//
// is C as soon as latency rises, and the policy cuts straight to it. Below the knee it doubles the
// concurrency every sample (slow start, one round of calls per batch so the samples come fast) up
// to the last knee it knows, then adds one call after every kneeHold quiet samples. Refusals (429)
// mean the concurrency is past the provider's limit: one call less, and that becomes the knee.
// Errors and slow calls back off like aimd.
//
// The baseline is the lowest sample latency of the current and the previous BaselineWindow (a
// windowed minimum, as BBR keeps its round-trip time), and the latest sample at MinConcurrency,
// where nothing of the ventilators' own can queue; so a provider that became slower for good is
// accepted as the new normal within two windows, or at once when the policy falls to the floor.
//
// The pace policy (perCall) is the same rule decided per round of completed calls within a batch
// rather than once per batch (see [Pool]): a sample is then as small as the pool, so it needs fewer
// calls to read latency from (a round, or rampCalls), one record failing alone cannot cut it, a
// refusal costs one call, and it probes above the knee after paceHold rounds. It remembers the last
// known good concurrency (State.Good), which slow start ramps back up to after a trip.
type kneePolicy struct{ perCall bool }

func (k kneePolicy) name() string {
	if k.perCall {
		return PolicyPace
	}
	return PolicyKnee
}

func (k kneePolicy) adopt(cfg Config, s State) State {
	if math.IsNaN(s.Limit) || s.Limit < float64(s.Concurrency) || s.Limit >= float64(s.Concurrency+1) {
		s.Limit = float64(s.Concurrency)
	}
	if math.IsNaN(s.Knee) || s.Knee < 0 {
		s.Knee = 0
	}
	s.Knee = min(s.Knee, float64(cfg.MaxConcurrency))
	if !k.perCall || math.IsNaN(s.Good) || s.Good < 0 {
		s.Good = 0
	}
	s.Good = min(s.Good, float64(cfg.MaxConcurrency))
	s.LevelCalls, s.LevelLatency, s.BaselineCalls = max(s.LevelCalls, 0), max(s.LevelLatency, 0), max(s.BaselineCalls, 0)
	if !k.perCall {
		s.LevelAt, s.LevelCalls, s.LevelLatency, s.BaselineCalls = 0, 0, 0, 0
	}
	s.Baseline, s.Recent = max(s.Baseline, 0), max(s.Recent, 0)
	s.Samples = max(s.Samples, 0)
	s.Probe = false
	return s
}

func (k kneePolicy) decide(cfg Config, s State, b Batch, now time.Time) (State, string) {
	l := s.Concurrency
	s.Samples++
	// A batch is always enough to judge failures on; a round of a few calls is when it holds a
	// round's worth of calls, or failures of two records (one record failing alone is its own fault).
	enough, okCalls := true, min(rampCalls, s.BatchSize*max(b.Batches, 1))
	if k.perCall {
		// A round is one ventilator's pool: its share of the fleet's concurrency.
		round := min(rampCalls, Share(l, s.Pollers))
		enough = b.Calls >= round || b.FailedKeys >= 2
		okCalls = round
	}
	switch {
	case b.Errors == b.Calls && b.Refused == 0 && enough:
		// With refusals among them, the provider answers and only has a limit (the next case):
		// a refusal and a poison record's failure are no outage.
		return kneeCut(s, cfg.MinConcurrency, false), fmt.Sprintf("knee: all %d calls failed: back to %d", b.Calls, cfg.MinConcurrency)
	case b.Refused > 0:
		// The calls the provider accepted were, on average, OKLatency/Elapsed at once (Little's
		// law): that is its limit, whatever the refused calls did meanwhile.
		next := l - 1
		if b.Elapsed > 0 && !k.perCall {
			next = min(next, int(math.Round(float64(b.OKLatency)/float64(b.Elapsed))))
		}
		next = max(next, cfg.MinConcurrency)
		s = kneeCut(s, next, true)
		if k.perCall {
			s = goodCut(s)
		}
		return s, fmt.Sprintf("knee: %d of %d calls refused at %d: the limit is below, %d", b.Refused, b.Calls, l, next)
	case k.badRatio(s, b) > cfg.BackoffRatio && enough:
		next := backoff(cfg, l)
		return kneeCut(s, next, false), fmt.Sprintf("knee: %d of %d calls slow or failed: x%v", b.Bad(), b.Calls, cfg.BackoffFactor)
	}
	if b.OK() < okCalls || b.Errors == b.Calls {
		return s, fmt.Sprintf("knee: %d successful calls are too few to read latency from: hold at %d", b.OK(), l)
	}
	if k.perCall {
		return pace(cfg, s, b)
	}
	lat := b.MeanLatency()
	s.Recent = lat
	// The baseline is a windowed minimum, as BBR keeps its round-trip time: the lowest sample
	// latency of this window and the last, so that it keeps neither a provider's old speed nor
	// the queueing it would absorb as a running mean. Samples of fewer than baselineCalls calls are
	// too noisy for a minimum, unless nothing better is known. At MinConcurrency nothing of the
	// ventilators' own can queue: there the sample is the baseline.
	nowMs := now.UnixMilli()
	if l <= cfg.MinConcurrency && s.Baseline > 0 && float64(lat) > float64(s.Baseline)*cfg.KneeTolerance {
		// Slower at the floor than the baseline allows: the provider itself got slower, and the
		// knee learnt against the old baseline is void. Slow start finds the new one.
		s.Knee = 0
	}
	big := b.OK() >= baselineCalls
	switch {
	case s.Baseline == 0, l <= cfg.MinConcurrency:
		s.Baseline, s.NextBaseline, s.BaselineAt = lat, lat, nowMs
		if !big {
			// Provisional (BaselineAt 0): the first large sample that shows no queueing against it
			// replaces it.
			s.NextBaseline, s.BaselineAt = 0, 0
		}
	case big && s.BaselineAt == 0:
		// Within the tolerance, or at two calls a ventilator or fewer, where its own calls hardly
		// queue, a large sample is a better baseline than the few calls that made this one.
		if float64(lat) <= float64(s.Baseline)*cfg.KneeTolerance || l <= 2*cfg.MinConcurrency {
			s.Baseline, s.NextBaseline, s.BaselineAt = lat, lat, nowMs
		}
	case big:
		if nowMs-s.BaselineAt > cfg.BaselineWindow.Milliseconds() {
			s.Baseline, s.NextBaseline, s.BaselineAt = minPositive(s.NextBaseline, lat), lat, nowMs
		}
		s.Baseline, s.NextBaseline = min(s.Baseline, lat), minPositive(s.NextBaseline, lat)
	}
	ratio := float64(lat) / float64(s.Baseline)
	switch {
	case ratio > cfg.KneeTolerance:
		knee := float64(l) / ratio
		next := min(max(int(math.Round(knee)), cfg.MinConcurrency), l)
		// Against a baseline read from a few calls, a small sample cannot mark a knee: cut, but
		// leave the knee unknown until a large sample confirms one.
		s = kneeCut(s, next, big || s.BaselineAt != 0)
		return s, fmt.Sprintf("knee: latency %v is %.2f x the baseline %v at %d: knee at %.1f, %d",
			lat, ratio, s.Baseline, l, knee, s.Concurrency)
	case b.BadRatio() > cfg.BackoffRatio/10:
		// A few failures are the records' own (a poison record fails at any concurrency); more
		// are a reason not to grow.
		s.Ramp = false
		return s, fmt.Sprintf("knee: %d of %d calls slow or failed: hold at %d", b.Bad(), b.Calls, l)
	case appLimited(b, s):
		s.Ramp = false
		return s, fmt.Sprintf("knee: %d calls in %d batch(es) did not fill a share of %d: hold", b.Calls, b.Batches, l)
	}
	// No queueing at l: below the last known knee (or with none known), slow start; at or above
	// it, the knee is at least l.
	quiet := ratio <= quietRatio(cfg)
	switch {
	case s.Knee > 0 && float64(l) > s.Knee && !quiet:
		// A probe above the knee made latency rise, if not past the tolerance: back to the knee.
		knee := int(s.Knee)
		s = kneeCut(s, max(knee, cfg.MinConcurrency), true)
		return s, fmt.Sprintf("knee: latency %v at %d is %.2f x the baseline: back to the knee, %d", lat, l, ratio, knee)
	case quiet && s.Knee > 0 && float64(l) >= s.Knee:
		s.Knee = float64(l)
	}
	switch {
	case s.Knee > float64(l) || s.Knee == 0:
		next := 2 * l
		if s.Knee > float64(l) {
			next = min(next, int(s.Knee))
		}
		s.Concurrency, s.Limit, s.Ramp = next, float64(next), true
		return s, fmt.Sprintf("knee: latency %v at %d, %.2f x the baseline: slow start to %d", lat, l, ratio, next)
	case quiet && s.Samples >= kneeHold:
		s.Concurrency, s.Limit, s.Ramp, s.Samples = l+1, float64(l+1), false, 0
		return s, fmt.Sprintf("knee: latency %v at %d, %.2f x the baseline: try %d", lat, l, ratio, l+1)
	default:
		s.Ramp = false
		return s, fmt.Sprintf("knee: latency %v at %d, %.2f x the baseline: hold", lat, l, ratio)
	}
}

// badRatio is the share of the sample's calls that argue for a back-off: failed and slow calls;
// under the pace policy, once a baseline is known, failed calls only, since slow calls have a
// latency the pace rule reads against the baseline (a cut straight to the knee it shows, rather
// than halving and, with no knee learnt, doubling back into the same slow calls).
func (k kneePolicy) badRatio(s State, b Batch) float64 {
	if k.perCall && s.Baseline > 0 {
		return b.ErrorRatio()
	}
	return b.BadRatio()
}

// kneeCut lowers s to concurrency n; when known is true, n is the provider's knee as measured.
func kneeCut(s State, n int, known bool) State {
	s.Concurrency, s.Limit, s.Ramp, s.Samples = n, float64(n), false, 0
	if known {
		s.Knee = float64(n)
	}
	return s
}

// quietRatio is the latency ratio to the baseline below which a sample shows no queueing: half way
// to KneeTolerance.
func quietRatio(cfg Config) float64 { return 1 + (cfg.KneeTolerance-1)/2 }
