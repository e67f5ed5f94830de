package sim

import (
	"fmt"
	"strings"
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
	return parseName(s, Sources, "event source")
}

// parseName returns the one of all named s, or an error that names what was asked for and lists
// the names there are; the error comes with all's first.
func parseName[T fmt.Stringer](s string, all []T, what string) (T, error) {
	names := make([]string, len(all))
	for i, v := range all {
		if v.String() == s {
			return v, nil
		}
		names[i] = v.String()
	}
	return all[0], fmt.Errorf("sim: unknown %s %q (want one of %s)", what, s, strings.Join(names, ", "))
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

// slotsOf is how many ventilator slots a run of sc under a MAX_CONCURRENCY of maxConcurrency needs:
// its pollers on Kinesis, the most invocations SQSScaling gives on SQS.
func slotsOf(sc Scenario, maxConcurrency int) int {
	if sc.Source == SQS {
		most, _ := adaptive.SQSScaling(maxConcurrency, maxConcurrency)
		return most
	}
	return sc.Pollers
}

// pollIdle plans a poll at t for every idle ventilator slot that may run now.
func (r *runner) pollIdle(t time.Duration) {
	for i := range r.slots() {
		if !r.pollers[i].busy {
			r.schedulePoll(i, t)
		}
	}
}
