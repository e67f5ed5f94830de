package sim

import (
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Policy is one contender of a run: an adaptive controller.
type Policy struct {
	// Name labels the policy in the results.
	Name string
	// Controller chooses the concurrency and the batch size.
	Controller adaptive.Controller
	// SlowCall is the threshold above which the ventilator reports a successful call as slow.
	SlowCall time.Duration
	// MaxConcurrency is the controller's MAX_CONCURRENCY.
	MaxConcurrency int
	// Trace, when set, sees every decision with the batch it was made on, at virtual time t.
	Trace func(t time.Duration, b adaptive.Batch, s adaptive.State, d adaptive.Decision)
}

// SimConfig is the controller configuration of the simulated ventilator for a provider whose
// healthy base latency is base: the defaults, with MAX_CONCURRENCY at 32 (a contract looser than
// the provider's real capacity of 8, so the policy has to find the knee itself), MAX_BATCH at
// Kinesis's 10000 and SLOW_CALL scaled like the circuit's.
func SimConfig(base time.Duration) adaptive.Config {
	c := adaptive.DefaultConfig()
	c.MaxConcurrency = 32
	c.MaxBatch = adaptive.MaxBatchLimit
	c.SlowCall = max(time.Second, 5*base)
	return c
}

// NewPolicies builds the named policies from cfg, each with cfg.Policy replaced.
func NewPolicies(cfg adaptive.Config, names ...string) ([]Policy, error) {
	var ps []Policy
	for _, name := range names {
		c := cfg
		c.Policy = name
		ctl, err := adaptive.New(c)
		if err != nil {
			return nil, fmt.Errorf("sim: policy %s: %w", name, err)
		}
		ps = append(ps, Policy{Name: name, Controller: ctl, SlowCall: c.SlowCall, MaxConcurrency: c.MaxConcurrency})
	}
	return ps, nil
}
