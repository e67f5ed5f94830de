package adaptive

import (
	"fmt"
	"time"
)

// stepPolicy is the original ventilator rule, kept exactly: -1 when more than half of the calls were
// slow or failed, +1 when none was, otherwise hold.
type stepPolicy struct{}

func (stepPolicy) name() string { return PolicyStep }

func (stepPolicy) adopt(_ Config, s State) State {
	s.Limit, s.Baseline, s.Recent, s.Samples, s.Probe, s.Ramp, s.Knee, s.BaselineAt = 0, 0, 0, 0, false, false, 0, 0
	return s
}

func (stepPolicy) decide(_ Config, s State, b Batch, _ time.Time) (State, string) {
	bad := b.Bad()
	switch {
	case bad*2 > b.Calls:
		s.Concurrency--
		return s, fmt.Sprintf("step: %d of %d calls slow or failed, over 50 %%: -1", bad, b.Calls)
	case bad == 0:
		s.Concurrency++
		return s, fmt.Sprintf("step: none of %d calls slow or failed: +1", b.Calls)
	default:
		return s, fmt.Sprintf("step: %d of %d calls slow or failed: hold", bad, b.Calls)
	}
}
