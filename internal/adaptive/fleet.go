package adaptive

import "fmt"

// The fleet's concurrency and each ventilator's share of it.
//
// MAX_CONCURRENCY is the provider's contractual limit on calls in flight, for all ventilators
// together. The controller's [State] holds one fleet-wide Concurrency; the ventilators that run at
// the same time each keep at most their share of it in flight, so that the shares never add up to
// more than Concurrency:
//
//   - Kinesis: one ventilator per shard and parallel batch (open shards × ParallelizationFactor
//     pollers), each with a pool of [Share](Concurrency, pollers). Every poller needs a pool of at
//     least 1, so MIN_CONCURRENCY must be at least the number of pollers ([Config.FitsPollers]).
//   - SQS: Lambda runs up to the mapping's ScalingConfig.MaximumConcurrency ventilators at once;
//     [SQSScaling] turns Concurrency into that figure and a pool per invocation.

// SQSMinMaximumConcurrency and SQSMaxMaximumConcurrency bound an SQS event source mapping's
// ScalingConfig.MaximumConcurrency, as the Lambda API does.
const (
	SQSMinMaximumConcurrency = 2
	SQSMaxMaximumConcurrency = 1000
)

// Share is the pool of one of pollers ventilators running at once under a fleet-wide concurrency:
// concurrency/pollers rounded down, at least 1. pollers below 1 reads as 1. The shares add up to at
// most concurrency whenever pollers <= concurrency.
func Share(concurrency, pollers int) int {
	pollers = max(pollers, 1)
	return max(concurrency/pollers, 1)
}

// SQSPool is the pool an SQS invocation is given at most before the fleet's concurrency is spread
// over one more invocation (unless 1000 invocations are not enough): the largest batch of a FIFO
// queue, or of a standard queue without a batching window, so that a batch can fill its pool.
const SQSPool = 10

// SQSScaling turns a fleet-wide concurrency into an SQS mapping's MaximumConcurrency and the pool of
// each invocation, under a MAX_CONCURRENCY of maxConcurrency. MAX_CONCURRENCY fixes the most
// invocations (enough for pools of at most SQSPool, at least 2, SQS's least MaximumConcurrency,
// and at most 1000) and the largest pool (MAX_CONCURRENCY over that many); a concurrency takes as
// few invocations as pools of that size allow, at least 2. So the invocations running at once,
// however many a MaximumConcurrency set earlier let start and whatever pool each holds, never
// have more than MAX_CONCURRENCY calls in flight together, and maximumConcurrency*pool never
// exceeds concurrency, except below 2, which SQS cannot express: there the answer is 2
// invocations of pool 1, so a ventilator on SQS checks its config with
// [Config.FitsPollers](SQSMinMaximumConcurrency) at start-up.
//
// Pools, not one call per invocation: a pool of one makes every call a round of the controller,
// decided by each invocation on its own, and `make sim -source sqs` held the fleet at
// MAX_CONCURRENCY, 3.7 to 10.6 times what the provider served, when invocations had one call each.
func SQSScaling(concurrency, maxConcurrency int) (maximumConcurrency, pool int) {
	maxConcurrency = max(maxConcurrency, SQSMinMaximumConcurrency)
	most := min(max(ceilDiv(maxConcurrency, SQSPool), SQSMinMaximumConcurrency), SQSMaxMaximumConcurrency)
	size := max(maxConcurrency/most, 1)
	concurrency = min(max(concurrency, SQSMinMaximumConcurrency), maxConcurrency)
	maximumConcurrency = min(max(ceilDiv(concurrency, size), SQSMinMaximumConcurrency), most)
	return maximumConcurrency, min(concurrency/maximumConcurrency, size)
}

// ceilDiv is a/b rounded up, for positive a and b.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// FitsPollers reports whether pollers ventilators running at once can each keep at least one call
// in flight without the fleet exceeding MIN_CONCURRENCY, and if not, which setting to change.
func (c Config) FitsPollers(pollers int) error {
	if pollers <= c.MinConcurrency {
		return nil
	}
	return fmt.Errorf("%w: %d ventilators run at once (shards × parallelization factor), more than %s (%d): "+
		"each needs at least one call in flight, so raise %s (and %s) to at least %d or use fewer shards",
		ErrInvalidConfig, pollers, EnvMinConcurrency, c.MinConcurrency, EnvMinConcurrency, EnvMaxConcurrency, pollers)
}
