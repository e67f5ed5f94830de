package adaptive

import "time"

// State is what a [Controller] remembers between batches. The ventilator stores it (in DynamoDB,
// under a conditional write) and passes it back with the next batch; it round-trips exactly through
// encoding/json and the AWS SDK's attributevalue package. Times are epoch milliseconds, latencies
// nanoseconds.
//
// One State is shared by every ventilator that calls the same provider (every shard of a Kinesis
// stream, every parallel batch of a shard, every concurrent SQS invocation): Concurrency is the
// fleet's figure, and each of them uses its share of it (see [Share] and [SQSScaling]), so that the
// sum never exceeds Config.MaxConcurrency.
type State struct {
	// Policy is the name of the policy that wrote the state.
	Policy string `json:"policy" dynamodbav:"policy"`
	// Concurrency is the number of calls the whole fleet may have in flight towards the provider,
	// within [MIN_CONCURRENCY, MAX_CONCURRENCY].
	Concurrency int `json:"concurrency" dynamodbav:"concurrency"`
	// BatchSize is the number of records one ventilator invocation gets (the event source mapping's
	// BatchSize), within [MIN_BATCH, MAX_BATCH]; it is at least the invocation's share of
	// Concurrency, so that its pool is kept busy, and small enough to finish within the time budget.
	BatchSize int `json:"batchSize" dynamodbav:"batchSize"`
	// Pollers is the number of ventilators that shared Concurrency in the latest batch
	// ([Batch.Pollers]), 1 when unknown.
	Pollers int `json:"pollers,omitempty" dynamodbav:"pollers,omitempty"`
	// Limit is the policy's fractional estimate of Concurrency; Concurrency is its floor.
	Limit float64 `json:"limit,omitempty" dynamodbav:"limit,omitempty"`
	// Baseline is the latency the provider gives without queueing (the no-load latency).
	Baseline time.Duration `json:"baselineNs,omitempty" dynamodbav:"baselineNs,omitempty"`
	// BaselineAt is when the current baseline window began, in epoch milliseconds; NextBaseline is
	// the lowest latency seen in it, which becomes Baseline when the window ends.
	BaselineAt   int64         `json:"baselineAt,omitempty" dynamodbav:"baselineAt,omitempty"`
	NextBaseline time.Duration `json:"nextBaselineNs,omitempty" dynamodbav:"nextBaselineNs,omitempty"`
	// Recent is the smoothed latency of the latest decisions.
	Recent time.Duration `json:"recentNs,omitempty" dynamodbav:"recentNs,omitempty"`
	// BaselineCalls is how many calls Baseline was read from (the pace policy): below
	// baselineCalls it is provisional.
	BaselineCalls int `json:"baselineCalls,omitempty" dynamodbav:"baselineCalls,omitempty"`
	// LevelAt is the concurrency that LevelCalls and LevelLatency were measured at (the pace
	// policy): the successful calls sent since the concurrency last changed, and their total
	// latency, since one round of a few calls is too noisy to judge a concurrency by.
	LevelAt      int           `json:"levelAt,omitempty" dynamodbav:"levelAt,omitempty"`
	LevelCalls   int           `json:"levelCalls,omitempty" dynamodbav:"levelCalls,omitempty"`
	LevelLatency time.Duration `json:"levelLatencyNs,omitempty" dynamodbav:"levelLatencyNs,omitempty"`
	// Knee is the concurrency at which latency was last seen rising above Baseline; 0 while unknown.
	Knee float64 `json:"knee,omitempty" dynamodbav:"knee,omitempty"`
	// Good is the highest concurrency at which the provider was seen answering at its no-load
	// latency since its latest knee (the pace policy): the last known good concurrency, which the
	// first good round after a trip goes back to. 0 while unknown, and once the provider is seen
	// slower or faster at the floor than its baseline.
	Good float64 `json:"good,omitempty" dynamodbav:"good,omitempty"`
	// Ramp is true while the policy is in slow start, far below the knee: the controller then sizes
	// batches to one round of calls so that the next decision comes fast.
	Ramp bool `json:"ramp,omitempty" dynamodbav:"ramp,omitempty"`
	// Samples is the number of decisions folded into Baseline and Recent (the knee policy: since it
	// last cut the concurrency).
	Samples int `json:"samples,omitempty" dynamodbav:"samples,omitempty"`
	// Probe is true while a policy runs one sample at a low concurrency to measure Baseline afresh;
	// a failure during a probe does not trip.
	Probe bool `json:"probe,omitempty" dynamodbav:"probe,omitempty"`
	// FloorFailures counts the consecutive failing batches at the smallest concurrency.
	FloorFailures int `json:"floorFailures" dynamodbav:"floorFailures"`
	// FloorKey is the key of a record that failed during those batches; FloorKeys counts the distinct
	// failing records seen in them (up to 2: enough to tell one poison record from a failing
	// provider).
	FloorKey  string `json:"floorKey,omitempty" dynamodbav:"floorKey,omitempty"`
	FloorKeys int    `json:"floorKeys,omitempty" dynamodbav:"floorKeys,omitempty"`
	// Tripped is true once the controller has tripped, until [Controller.Resume].
	Tripped bool `json:"tripped" dynamodbav:"tripped"`
	// WakeAt, in epoch milliseconds, is set by the controller's own trip (failures at the floor,
	// whatever the circuit says): from then on the ventilator's own schedule resumes it, without
	// waiting for a circuit state change that may never come. Zero when the trip was the
	// circuit's (OPEN): the circuit then says when a call may go.
	WakeAt int64 `json:"wakeAt,omitempty" dynamodbav:"wakeAt,omitempty"`
	// UpdatedAt is when the state was written, in epoch milliseconds.
	UpdatedAt int64 `json:"updatedAt" dynamodbav:"updatedAt"`
	// Pending accumulates batches too small to decide on (see Config.MinSamples).
	Pending Batch `json:"pending" dynamodbav:"pending"`
}

// Decision is what the ventilator applies after a batch.
type Decision struct {
	// Concurrency is the fleet-wide number of calls in flight allowed from now on; each ventilator
	// runs a pool of its share ([Share], [SQSScaling]).
	Concurrency int
	// BatchSize is the batch size for the next batch; the ventilator updates the event source
	// mapping only when it (or, on SQS, the mapping's MaximumConcurrency) differs from the previous
	// State's.
	BatchSize int
	// Trip asks the ventilator to disable its event source mapping until a wake-up.
	Trip bool
	// Reason says why, for logs and metrics.
	Reason string
}
