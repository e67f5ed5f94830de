package adaptive

import (
	"fmt"
	"math"
	"time"
)

// gradientPolicy follows the latency gradient, in the spirit of Netflix concurrency-limits' Gradient2
// and Envoy's adaptive concurrency filter:
//
//	gradient = clamp(GradientTolerance * baseline / recent, 0.5, 1)
//	limit    = (1-s)*limit + s*(limit*gradient + sqrt(limit))    s = GradientSmoothing
//
// recent is the mean latency of the latest sample; baseline is the latency without queueing. The
// sqrt(limit) term is a small queue allowance that keeps the provider busy while the limit is below
// its capacity; the gradient removes it once latency rises above the tolerance. The baseline falls
// with any faster sample and is measured afresh every GradientWindow decisions by one probe sample at
// MinConcurrency, as Envoy pins its concurrency to measure its minimum RTT, so that a provider that became
// slower for good is eventually accepted as the new normal. Errors and slow calls still back off
// like aimd, and a sample in which every call failed drops to MinConcurrency.
type gradientPolicy struct{}

func (gradientPolicy) name() string { return PolicyGradient }

func (gradientPolicy) adopt(cfg Config, s State) State {
	if math.IsNaN(s.Limit) || s.Limit < float64(s.Concurrency) || s.Limit >= float64(s.Concurrency+1) {
		if !s.Probe {
			s.Limit = float64(s.Concurrency)
		}
	}
	s.Limit = min(max(s.Limit, float64(cfg.MinConcurrency)), float64(cfg.MaxConcurrency))
	s.Baseline, s.Recent = max(s.Baseline, 0), max(s.Recent, 0)
	s.Samples = max(s.Samples, 0)
	s.Ramp, s.Knee, s.BaselineAt, s.NextBaseline = false, 0, 0, 0
	if s.Probe && s.Concurrency != cfg.MinConcurrency {
		s.Probe = false
		s.Limit = float64(s.Concurrency)
	}
	return s
}

func (gradientPolicy) decide(cfg Config, s State, b Batch, _ time.Time) (State, string) {
	limit := s.Limit
	probe := s.Probe
	s.Probe = false
	var reason string
	measured := false
	switch {
	case b.Errors == b.Calls:
		limit = float64(cfg.MinConcurrency)
		reason = fmt.Sprintf("gradient: all %d calls failed: back to %d", b.Calls, cfg.MinConcurrency)
	case b.BadRatio() > cfg.BackoffRatio:
		limit = float64(backoff(cfg, int(limit)))
		reason = fmt.Sprintf("gradient: %d of %d calls slow or failed: x%v", b.Bad(), b.Calls, cfg.BackoffFactor)
	default:
		latency := b.MeanLatency()
		s.Recent = latency
		s.Samples++
		if probe || s.Baseline == 0 || latency < s.Baseline {
			s.Baseline = latency
		}
		if probe {
			reason = fmt.Sprintf("gradient: baseline latency measured at %v", s.Baseline)
			break
		}
		g := gradientOf(cfg, s.Baseline, latency)
		next := limit*g + math.Sqrt(limit)
		if next > limit && appLimited(b, s) {
			next = limit
		}
		limit = limit*(1-cfg.GradientSmoothing) + next*cfg.GradientSmoothing
		measured = true
		reason = fmt.Sprintf("gradient: latency %v against baseline %v, gradient %.2f", latency, s.Baseline, g)
	}
	limit = min(max(limit, float64(cfg.MinConcurrency)), float64(cfg.MaxConcurrency))
	s.Limit = limit
	s.Concurrency = int(limit)
	if measured && s.Samples%cfg.GradientWindow == 0 && s.Concurrency > cfg.MinConcurrency {
		s.Probe = true
		s.Concurrency = cfg.MinConcurrency
		reason += "; next sample probes the baseline"
	}
	return s, reason
}

// gradientOf is clamp(tolerance*baseline/recent, 0.5, 1); 1 when either latency is unknown.
func gradientOf(cfg Config, baseline, recent time.Duration) float64 {
	if baseline <= 0 || recent <= 0 {
		return 1
	}
	g := cfg.GradientTolerance * float64(baseline) / float64(recent)
	return min(max(g, 0.5), 1)
}
