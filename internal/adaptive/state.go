package adaptive

import "time"

// State is what a [Controller] remembers between batches. The ventilator stores it (in DynamoDB,
// under a conditional write) and passes it back with the next batch; it round-trips exactly through
// encoding/json and the AWS SDK's attributevalue package. Times are epoch milliseconds, latencies
// nanoseconds.
type State struct {
	// Policy is the name of the policy that wrote the state.
	Policy string `json:"policy" dynamodbav:"policy"`
	// BatchSize is the batch size to use for the next batch.
	BatchSize int `json:"batchSize" dynamodbav:"batchSize"`
	// Limit is gradient's fractional estimate of the batch size; BatchSize is its floor.
	Limit float64 `json:"limit,omitempty" dynamodbav:"limit,omitempty"`
	// Baseline is gradient's long-window latency: the latency the provider gives without queueing.
	Baseline time.Duration `json:"baselineNs,omitempty" dynamodbav:"baselineNs,omitempty"`
	// Recent is gradient's smoothed latency of the latest decisions.
	Recent time.Duration `json:"recentNs,omitempty" dynamodbav:"recentNs,omitempty"`
	// Samples is the number of decisions folded into Baseline and Recent.
	Samples int `json:"samples,omitempty" dynamodbav:"samples,omitempty"`
	// Probe is true while gradient runs one sample at MinBatch to measure Baseline afresh; a failure
	// during a probe does not trip.
	Probe bool `json:"probe,omitempty" dynamodbav:"probe,omitempty"`
	// FloorFailures counts the consecutive failing batches at the smallest batch size.
	FloorFailures int `json:"floorFailures" dynamodbav:"floorFailures"`
	// Tripped is true once the controller has tripped, until [Controller.Resume].
	Tripped bool `json:"tripped" dynamodbav:"tripped"`
	// UpdatedAt is when the state was written, in epoch milliseconds.
	UpdatedAt int64 `json:"updatedAt" dynamodbav:"updatedAt"`
	// Pending accumulates batches too small to decide on (see Config.MinSamples).
	Pending Batch `json:"pending" dynamodbav:"pending"`
}

// Decision is what the ventilator applies after a batch.
type Decision struct {
	// BatchSize is the batch size for the next batch; the ventilator updates the event source
	// mapping only when it differs from the previous State's.
	BatchSize int
	// Trip asks the ventilator to disable its event source mapping until the scheduled wake-up.
	Trip bool
	// Reason says why, for logs and metrics.
	Reason string
}
