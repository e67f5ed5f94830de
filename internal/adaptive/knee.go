package adaptive

import (
	"fmt"
	"math"
	"time"
)

// kneeHold is how many samples the knee policy holds at a concurrency it cut to before it tries one
// more call in flight.
const kneeHold = 4

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
// The baseline is the lowest sample latency seen; it is measured afresh when the policy runs at
// MinConcurrency (nothing of its own can queue there) and when it has not been confirmed for
// BaselineWindow, so a provider that became slower for good is accepted as the new normal.
type kneePolicy struct{}

func (kneePolicy) name() string { return PolicyKnee }

func (kneePolicy) adopt(cfg Config, s State) State {
	if math.IsNaN(s.Limit) || s.Limit < float64(s.Concurrency) || s.Limit >= float64(s.Concurrency+1) {
		s.Limit = float64(s.Concurrency)
	}
	if math.IsNaN(s.Knee) || s.Knee < 0 {
		s.Knee = 0
	}
	s.Knee = min(s.Knee, float64(cfg.MaxConcurrency))
	s.Baseline, s.Recent = max(s.Baseline, 0), max(s.Recent, 0)
	s.Samples = max(s.Samples, 0)
	s.Probe = false
	return s
}

func (kneePolicy) decide(cfg Config, s State, b Batch, now time.Time) (State, string) {
	l := s.Concurrency
	s.Samples++
	switch {
	case b.Errors == b.Calls:
		return kneeCut(s, cfg.MinConcurrency, false), fmt.Sprintf("knee: all %d calls failed: back to %d", b.Calls, cfg.MinConcurrency)
	case b.Refused > 0:
		next := l - 1
		if b.Refused*2 > b.Calls {
			next = backoff(cfg, l)
		}
		next = max(next, cfg.MinConcurrency)
		s = kneeCut(s, next, true)
		return s, fmt.Sprintf("knee: %d of %d calls refused at %d: the limit is below, %d", b.Refused, b.Calls, l, next)
	case b.BadRatio() > cfg.BackoffRatio:
		next := backoff(cfg, l)
		return kneeCut(s, next, false), fmt.Sprintf("knee: %d of %d calls slow or failed: x%v", b.Bad(), b.Calls, cfg.BackoffFactor)
	}
	lat := b.MeanLatency()
	s.Recent = lat
	stale := now.UnixMilli()-s.BaselineAt > cfg.BaselineWindow.Milliseconds()
	switch {
	case s.Baseline == 0, lat < s.Baseline, l <= cfg.MinConcurrency, stale:
		s.Baseline, s.BaselineAt = lat, now.UnixMilli()
	case float64(lat) <= float64(s.Baseline)*cfg.KneeTolerance:
		s.BaselineAt = now.UnixMilli()
	}
	ratio := float64(lat) / float64(s.Baseline)
	switch {
	case ratio > cfg.KneeTolerance:
		knee := float64(l) / ratio
		next := max(int(math.Round(knee)), cfg.MinConcurrency)
		if next >= l {
			next = l - 1
		}
		s = kneeCut(s, max(next, cfg.MinConcurrency), true)
		return s, fmt.Sprintf("knee: latency %v is %.2f x the baseline %v at %d: knee at %.1f, %d",
			lat, ratio, s.Baseline, l, knee, s.Concurrency)
	case b.Errors > 0 || b.Bad() > 0:
		s.Ramp = false
		return s, fmt.Sprintf("knee: %d of %d calls slow or failed: hold at %d", b.Bad(), b.Calls, l)
	case appLimited(b, s):
		s.Ramp = false
		return s, fmt.Sprintf("knee: %d calls in %d batch(es) did not fill a share of %d: hold", b.Calls, b.Batches, l)
	}
	// No queueing at l: below the last known knee (or with none known), slow start; at or above
	// it, the knee is at least l.
	quiet := ratio <= 1+(cfg.KneeTolerance-1)/2
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

// kneeCut lowers s to concurrency n; when known is true, n is the provider's knee as measured.
func kneeCut(s State, n int, known bool) State {
	s.Concurrency, s.Limit, s.Ramp, s.Samples = n, float64(n), false, 0
	if known {
		s.Knee = float64(n)
	}
	return s
}
