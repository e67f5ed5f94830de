package adaptive

import "time"

// Result is the outcome of one call to the downstream provider.
type Result struct {
	// OK is false when the call failed or timed out.
	OK bool
	// Refused is true when the provider turned the call away without doing it (HTTP 429, a
	// throttling error, a concurrency limit): the clearest sign of being over its limit. A refused
	// call is also a failed one (OK is false).
	Refused bool
	// Latency is how long the call took, as the caller measured it.
	Latency time.Duration
	// Key identifies the record the call was for (a Kinesis sequence number, an SQS message id);
	// it lets the controller tell one poison record failing again and again from a failing
	// provider. Empty when unknown.
	Key string
}

// Batch summarises calls: one batch of the ventilator, or several accumulated until they make a
// decision's minimum sample. A call that was both slow and failed counts once, as an error, so
// Errors+Slow never exceeds Calls; Refused calls are counted in Errors too.
//
// [Summarize] fills in what the calls say; the ventilator then sets Pool, Pollers, Elapsed, Budget
// and Unsent, which only it knows.
type Batch struct {
	// Batches is the number of ventilator batches summarised.
	Batches int `json:"batches" dynamodbav:"batches"`
	// Calls is the number of calls made.
	Calls int `json:"calls" dynamodbav:"calls"`
	// Errors is the number of calls that failed, timed out or were refused.
	Errors int `json:"errors" dynamodbav:"errors"`
	// Refused is the number of calls the provider refused (429 and the like), a subset of Errors.
	Refused int `json:"refused,omitempty" dynamodbav:"refused,omitempty"`
	// Slow is the number of successful calls slower than the slow-call threshold.
	Slow int `json:"slow" dynamodbav:"slow"`
	// OKLatency is the total latency of the successful calls.
	OKLatency time.Duration `json:"okLatencyNs" dynamodbav:"okLatencyNs"`
	// MinLatency is the smallest latency of a successful call; 0 when there was none.
	MinLatency time.Duration `json:"minLatencyNs,omitempty" dynamodbav:"minLatencyNs,omitempty"`
	// MaxLatency is the largest latency of a successful call.
	MaxLatency time.Duration `json:"maxLatencyNs" dynamodbav:"maxLatencyNs"`
	// Pool is the number of calls the ventilator kept in flight at most (its share of the fleet's
	// concurrency); when several batches are summarised, the largest.
	Pool int `json:"pool,omitempty" dynamodbav:"pool,omitempty"`
	// Pollers is the number of ventilators sharing the fleet's concurrency: open shards times the
	// parallelization factor on Kinesis, the mapping's MaximumConcurrency on SQS; 0 reads as 1.
	Pollers int `json:"pollers,omitempty" dynamodbav:"pollers,omitempty"`
	// Elapsed is how long the fan-out took, from the first call sent to the last one answered.
	Elapsed time.Duration `json:"elapsedNs,omitempty" dynamodbav:"elapsedNs,omitempty"`
	// Budget is the time the ventilator had for its calls: the invocation's deadline less the time
	// kept for the settle step (report, state write, mapping update). 0 when unknown.
	Budget time.Duration `json:"budgetNs,omitempty" dynamodbav:"budgetNs,omitempty"`
	// StartBudget is the time during which the ventilator could start calls: the Budget less one
	// call's timeout, since no call starts that could outlive the deadline. 0 when unknown.
	StartBudget time.Duration `json:"startBudgetNs,omitempty" dynamodbav:"startBudgetNs,omitempty"`
	// Unsent is the number of records the ventilator did not call because the budget ran out
	// (returned as batch item failures, to be retried): a sign that the batch is too large.
	Unsent int `json:"unsent,omitempty" dynamodbav:"unsent,omitempty"`
	// FailedKey is the key of one record whose call failed (the first), FailedKeys the number of
	// distinct keys among the failed calls; calls without a key count as distinct.
	FailedKey  string `json:"failedKey,omitempty" dynamodbav:"failedKey,omitempty"`
	FailedKeys int    `json:"failedKeys,omitempty" dynamodbav:"failedKeys,omitempty"`
}

// Summarize folds the results of one ventilator batch into a Batch, judging slowness against
// slowCall (a latency strictly above it is slow). An empty slice gives a Batch of zero calls.
func Summarize(results []Result, slowCall time.Duration) Batch {
	b := Batch{Batches: 1, Calls: len(results)}
	var seen map[string]bool
	for _, r := range results {
		switch {
		case !r.OK || r.Refused:
			b.Errors++
			if r.Refused {
				b.Refused++
			}
			if b.FailedKey == "" {
				b.FailedKey = r.Key
			}
			if r.Key == "" {
				b.FailedKeys++
				continue
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			if !seen[r.Key] {
				seen[r.Key] = true
				b.FailedKeys++
			}
		case r.Latency > slowCall:
			b.Slow++
			fallthrough
		default:
			b.OKLatency += r.Latency
			b.MaxLatency = max(b.MaxLatency, r.Latency)
			if b.MinLatency == 0 || r.Latency < b.MinLatency {
				b.MinLatency = r.Latency
			}
		}
	}
	return b
}

// Add returns the union of b and o. Pool, Pollers and Budget are the later batch's (o's) when set,
// Elapsed and Unsent add up.
func (b Batch) Add(o Batch) Batch {
	u := Batch{
		Batches:     b.Batches + o.Batches,
		Calls:       b.Calls + o.Calls,
		Errors:      b.Errors + o.Errors,
		Refused:     b.Refused + o.Refused,
		Slow:        b.Slow + o.Slow,
		OKLatency:   b.OKLatency + o.OKLatency,
		MinLatency:  minPositive(b.MinLatency, o.MinLatency),
		MaxLatency:  max(b.MaxLatency, o.MaxLatency),
		Pool:        max(b.Pool, o.Pool),
		Pollers:     pick(o.Pollers, b.Pollers),
		Elapsed:     b.Elapsed + o.Elapsed,
		Budget:      pick(o.Budget, b.Budget),
		StartBudget: pick(o.StartBudget, b.StartBudget),
		Unsent:      b.Unsent + o.Unsent,
		FailedKey:   b.FailedKey,
		FailedKeys:  b.FailedKeys + o.FailedKeys,
	}
	if u.FailedKey == "" {
		u.FailedKey = o.FailedKey
	} else if o.FailedKeys > 0 && o.FailedKey == b.FailedKey && o.FailedKeys == 1 && b.FailedKeys == 1 {
		u.FailedKeys = 1 // the same single record failed in both
	}
	return u
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

// minPositive is the smaller of a and b, ignoring a zero.
func minPositive[T int | time.Duration](a, b T) T {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// pick is a when it is set, else b.
func pick[T int | time.Duration](a, b T) T {
	if a > 0 {
		return a
	}
	return b
}
