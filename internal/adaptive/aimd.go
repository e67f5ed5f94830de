package adaptive

import (
	"fmt"
	"time"
)

// aimdPolicy is additive increase, multiplicative decrease: +1 after a clean sample (no slow call, no
// error) that used at least half its share of the concurrency, x BackoffFactor when the share of slow or failed
// calls exceeds BackoffRatio, and straight to MinConcurrency when every call failed (like TCP after a
// retransmission timeout: nothing says that any concurrency works).
type aimdPolicy struct{}

func (aimdPolicy) name() string { return PolicyAIMD }

func (aimdPolicy) adopt(_ Config, s State) State {
	s.Limit, s.Baseline, s.Recent, s.Samples, s.Probe, s.Ramp, s.Knee, s.BaselineAt = 0, 0, 0, 0, false, false, 0, 0
	return s
}

func (aimdPolicy) decide(cfg Config, s State, b Batch, _ time.Time) (State, string) {
	bad := b.Bad()
	switch {
	case b.Errors == b.Calls:
		s.Concurrency = cfg.MinConcurrency
		return s, fmt.Sprintf("aimd: all %d calls failed: back to %d", b.Calls, cfg.MinConcurrency)
	case b.BadRatio() > cfg.BackoffRatio:
		s.Concurrency = backoff(cfg, s.Concurrency)
		return s, fmt.Sprintf("aimd: %d of %d calls slow or failed: x%v", bad, b.Calls, cfg.BackoffFactor)
	case bad > 0:
		return s, fmt.Sprintf("aimd: %d of %d calls slow or failed: hold", bad, b.Calls)
	case appLimited(b, s):
		return s, fmt.Sprintf("aimd: %d calls in %d batch(es) used less than half of a share of %d: hold",
			b.Calls, b.Batches, s.Concurrency)
	default:
		s.Concurrency++
		return s, fmt.Sprintf("aimd: none of %d calls slow or failed: +1", b.Calls)
	}
}

// backoff is n times BackoffFactor, rounded down, at least MinConcurrency.
func backoff(cfg Config, n int) int {
	return max(int(float64(n)*cfg.BackoffFactor), cfg.MinConcurrency)
}
