package sim

import (
	"fmt"
	"time"
)

// SlowBase is the base latency from which a provider counts as slow: its goodput goes to
// GoodputMinSlow (the 30 s and 70 s providers of `make sim`), a faster one's to GoodputMin.
const SlowBase = time.Second

// Summary folds the rows of many runs of one policy into the figures of the `sim:` line.
type Summary struct {
	// Policy is the policy summarised.
	Policy string
	// GoodputMin is the lowest goodput, in % of the optimum, over the healthy and degraded phases
	// and the recovered phase from the moment its circuit closed, of providers faster than
	// [SlowBase]; GoodputMinSlow the same of the others.
	GoodputMin, GoodputMinSlow float64
	// ConcurrencyMax is the highest mean concurrency over those phases, divided by the capacity.
	ConcurrencyMax float64
	// LatencyMax is the highest mean latency over those phases, divided by the base latency.
	LatencyMax float64
	// TripBatchesMax is the most batches an outage sent calls in before the ventilator stopped; -1
	// when some outage never stopped it.
	TripBatchesMax int
	// RecoverMax is the longest time, in seconds, from the circuit closing after an outage to
	// RecoveryShare of the optimum; RecoverRatioMax the largest such time over [RecoveryTarget].
	RecoverMax, RecoverRatioMax float64
	// PoisonDrop is the largest share of goodput, in %, lost to the poison records (one in 1,000),
	// against the same run without them.
	PoisonDrop float64
	// Lost and Duplicates add up over every run.
	Lost, Duplicates int
	// Runs counts the runs folded in.
	Runs int
}

// NewSummary starts an empty summary of policy.
func NewSummary(policy string) *Summary {
	return &Summary{Policy: policy, GoodputMin: 100, GoodputMinSlow: 100}
}

// Add folds one run's rows (those of s.Policy) and its outcome in.
func (s *Summary) Add(rows []Row, o Outcome) {
	s.Runs++
	s.Lost += o.Lost
	for _, r := range rows {
		if r.Policy != s.Policy {
			continue
		}
		s.Duplicates += r.Duplicates
		if r.GoodputPct != nil {
			if base, err := time.ParseDuration(r.Base); err == nil && base >= SlowBase {
				s.GoodputMinSlow = min(s.GoodputMinSlow, *r.GoodputPct)
			} else {
				s.GoodputMin = min(s.GoodputMin, *r.GoodputPct)
			}
			s.ConcurrencyMax = max(s.ConcurrencyMax, *r.Concurrency)
			s.LatencyMax = max(s.LatencyMax, *r.Latency)
		}
		if r.Optimum == 0 {
			if r.TripBatches == nil {
				s.TripBatchesMax = -1
			} else if s.TripBatchesMax >= 0 {
				s.TripBatchesMax = max(s.TripBatchesMax, *r.TripBatches)
			}
		}
		if r.RecoverAfterS != nil {
			s.RecoverMax = max(s.RecoverMax, *r.RecoverAfterS)
		}
		if r.RecoverRatio != nil {
			s.RecoverRatioMax = max(s.RecoverRatioMax, *r.RecoverRatio)
		}
	}
}

// AddPoison folds in the goodput of one run with poison records and of the same run without.
func (s *Summary) AddPoison(with, without Outcome, phases int) {
	a, b := 0, 0
	for i := range min(phases, len(with.Phases), len(without.Phases)) {
		for _, n := range with.Phases[i].Successes {
			a += n
		}
		for _, n := range without.Phases[i].Successes {
			b += n
		}
	}
	if b > 0 {
		s.PoisonDrop = max(s.PoisonDrop, 100*(1-float64(a)/float64(b)))
	}
}

// Line is the `sim:` line.
func (s *Summary) Line() string {
	trips := fmt.Sprint(s.TripBatchesMax)
	if s.TripBatchesMax < 0 {
		trips = "never"
	}
	return fmt.Sprintf("sim: policy=%s goodput-min=%.1f%% goodput-min-slow=%.1f%% concurrency-max=%.2f latency-max=%.2f trip-batches-max=%s recover-ratio-max=%.2f poison-drop=%.1f%% lost=%d duplicates=%d",
		s.Policy, s.GoodputMin, s.GoodputMinSlow, s.ConcurrencyMax, s.LatencyMax, trips, s.RecoverRatioMax, s.PoisonDrop, s.Lost, s.Duplicates)
}
