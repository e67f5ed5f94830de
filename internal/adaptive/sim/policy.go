package sim

import (
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Policy is one contender of a run: an adaptive controller, or a fixed batch size without a breaker.
type Policy struct {
	// Name labels the policy in the results.
	Name string
	// Controller chooses the batch size; nil means a fixed batch size that never trips.
	Controller adaptive.Controller
	// Fixed is the batch size when Controller is nil.
	Fixed int
	// SlowCall is the threshold above which the ventilator reports a successful call as slow.
	SlowCall time.Duration
}

// FixedBatch is the batch size of the "fixed" contender.
const FixedBatch = 10

// DefaultPolicies are the contenders of `make sim`: "fixed" (batch 10, no breaker), then "step",
// "aimd" and "gradient", each built from cfg with its Policy replaced.
func DefaultPolicies(cfg adaptive.Config) ([]Policy, error) {
	ps := []Policy{{Name: "fixed", Fixed: FixedBatch}}
	for _, name := range []string{adaptive.PolicyStep, adaptive.PolicyAIMD, adaptive.PolicyGradient} {
		c := cfg
		c.Policy = name
		ctl, err := adaptive.New(c)
		if err != nil {
			return nil, fmt.Errorf("sim: policy %s: %w", name, err)
		}
		ps = append(ps, Policy{Name: name, Controller: ctl, SlowCall: c.SlowCall})
	}
	return ps, nil
}
