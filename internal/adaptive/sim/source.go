package sim

import (
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Source is the event source the simulated ventilator consumes.
type Source int

const (
	// Kinesis runs Scenario.Pollers ventilators at once (open shards times the parallelization
	// factor), each with a pool of its share of the fleet's concurrency, over batches as large as
	// the controller sizes them.
	Kinesis Source = iota
	// SQS runs as many invocations at once as the mapping's ScalingConfig.MaximumConcurrency, which
	// the ventilator sets from the fleet's concurrency (adaptive.SQSScaling), each with the pool that
	// gives, over batches of at most SQSMaxBatch messages. An invocation under way keeps running when
	// the figure falls; Lambda only starts no new one until fewer than it run.
	SQS
)

// SQSMaxBatch is the largest batch of an SQS mapping on a FIFO queue, or on a standard queue
// without a batching window (the ventilator's mapping package clamps to it the same way).
const SQSMaxBatch = 10

// Sources lists the event sources in the order of the command's -source flag help.
var Sources = []Source{Kinesis, SQS}

// String is "kinesis" or "sqs".
func (s Source) String() string {
	if s == SQS {
		return "sqs"
	}
	return "kinesis"
}

// ParseSource reads "kinesis" or "sqs".
func ParseSource(s string) (Source, error) {
	for _, src := range Sources {
		if src.String() == s {
			return src, nil
		}
	}
	return Kinesis, fmt.Errorf("sim: unknown event source %q (want kinesis or sqs)", s)
}

// slots is how many ventilators may run at once now: the scenario's pollers on Kinesis, the
// MaximumConcurrency the controller state's concurrency sets on SQS.
func (r *runner) slots() int {
	if r.sc.Source != SQS {
		return r.sc.Pollers
	}
	m, _ := adaptive.SQSScaling(r.state.Concurrency, r.pol.MaxConcurrency)
	return m
}

// slotsOf is how many ventilator slots a run of sc needs: its pollers on Kinesis, as many as an
// SQS mapping's MaximumConcurrency can be.
func slotsOf(sc Scenario) int {
	if sc.Source == SQS {
		return adaptive.SQSMaxMaximumConcurrency
	}
	return sc.Pollers
}

// pollIdle plans a poll at t for every idle ventilator slot that may run now.
func (r *runner) pollIdle(t time.Duration) {
	for i := range min(r.slots(), len(r.pollers)) {
		if !r.pollers[i].busy {
			r.schedulePoll(i, t)
		}
	}
}
