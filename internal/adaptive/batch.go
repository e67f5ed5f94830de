package adaptive

import "time"

// Result is the outcome of one call to the downstream provider.
type Result struct {
	// OK is false when the call failed or timed out.
	OK bool
	// Latency is how long the call took, as the caller measured it.
	Latency time.Duration
}

// Batch summarises calls: one batch of the ventilator, or several accumulated until they make a
// decision's minimum sample. A call that was both slow and failed counts once, as an error, so
// Errors+Slow never exceeds Calls.
type Batch struct {
	// Batches is the number of ventilator batches summarised.
	Batches int `json:"batches" dynamodbav:"batches"`
	// Calls is the number of calls made.
	Calls int `json:"calls" dynamodbav:"calls"`
	// Errors is the number of calls that failed or timed out.
	Errors int `json:"errors" dynamodbav:"errors"`
	// Slow is the number of successful calls slower than the slow-call threshold.
	Slow int `json:"slow" dynamodbav:"slow"`
	// OKLatency is the total latency of the successful calls.
	OKLatency time.Duration `json:"okLatencyNs" dynamodbav:"okLatencyNs"`
	// MaxLatency is the largest latency of a successful call.
	MaxLatency time.Duration `json:"maxLatencyNs" dynamodbav:"maxLatencyNs"`
}

// Summarize folds the results of one ventilator batch into a Batch, judging slowness against
// slowCall (a latency strictly above it is slow). An empty slice gives a Batch of zero calls.
func Summarize(results []Result, slowCall time.Duration) Batch {
	b := Batch{Batches: 1, Calls: len(results)}
	for _, r := range results {
		switch {
		case !r.OK:
			b.Errors++
		case r.Latency > slowCall:
			b.Slow++
			fallthrough
		default:
			b.OKLatency += r.Latency
			b.MaxLatency = max(b.MaxLatency, r.Latency)
		}
	}
	return b
}

// Add returns the union of b and o.
func (b Batch) Add(o Batch) Batch {
	return Batch{
		Batches:    b.Batches + o.Batches,
		Calls:      b.Calls + o.Calls,
		Errors:     b.Errors + o.Errors,
		Slow:       b.Slow + o.Slow,
		OKLatency:  b.OKLatency + o.OKLatency,
		MaxLatency: max(b.MaxLatency, o.MaxLatency),
	}
}

// OK is the number of successful calls, slow or not.
func (b Batch) OK() int { return b.Calls - b.Errors }

// Bad is the number of calls that were slow or failed.
func (b Batch) Bad() int { return b.Errors + b.Slow }

// BadRatio is Bad()/Calls, 0 when there was no call.
func (b Batch) BadRatio() float64 { return ratio(b.Bad(), b.Calls) }

// ErrorRatio is Errors/Calls, 0 when there was no call.
func (b Batch) ErrorRatio() float64 { return ratio(b.Errors, b.Calls) }

// MeanLatency is the mean latency of the successful calls, 0 when there was none.
func (b Batch) MeanLatency() time.Duration {
	if b.OK() <= 0 {
		return 0
	}
	return b.OKLatency / time.Duration(b.OK())
}

func ratio(n, d int) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}
