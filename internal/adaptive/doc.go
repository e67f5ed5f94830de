// Package adaptive chooses how many calls the ventilators keep in flight towards a downstream
// provider (the fleet's concurrency) and how many records each ventilator invocation gets (its batch
// size): two figures, both adapted.
//
// A ventilator runs a pool of its share of the concurrency over a batch that may be larger, so that
// its calls stay in flight while the batch's slowest ones finish. The pool is a [Pool]: it admits a
// call whenever fewer than its limit are in flight and folds every completed call in; under the
// default policy each round of completions is a decision of the [Controller], any completion may
// cut the limit at once, and so may the ages of the calls still in flight ([Pool.Age]); under the
// others the whole batch is one decision. A decision folds a [Batch]
// (latency, errors, refusals such as 429, the time budget) into the previous [State]. At the end of
// the batch the ventilator stores the new State (in DynamoDB, under a conditional write, the batch's
// decisions replayed onto whatever is stored, so that shards and concurrent invocations sharing the
// controller cannot race) and applies the [Decision]: a new concurrency and batch size for the event
// source mapping, or a trip that disables the mapping until a wake-up calls [Controller.Resume].
//
// MAX_CONCURRENCY is the provider's contractual limit, for all ventilators together. The State holds
// one fleet-wide concurrency; each ventilator running at the same time uses its share ([Share] on
// Kinesis, [SQSScaling] on SQS), so the shares never add up to more than MAX_CONCURRENCY.
//
// Policies, chosen by name with [New]:
//
//   - "pace" (the default): the knee rule below, decided per round of completed calls within the
//     batch, with an in-batch brake (on completed calls and on the age of calls in flight), and slow start back to the last known good concurrency after
//     a trip;
//   - "knee": finds the provider's knee, the concurrency at which latency starts to rise
//     above its no-load baseline, as TCP Vegas and BBR do, holds there, and backs off on errors and
//     refusals (429);
//   - "step": the original rule of the ventilator/worker pattern, -1 when more than half of the calls
//     were slow or failed, +1 when none was, otherwise hold; kept as the reference;
//   - "aimd": additive increase, multiplicative decrease, in the manner of TCP;
//   - "gradient": follows the ratio between a long-term latency baseline and the latest latency, in the
//     spirit of Netflix concurrency-limits' Gradient2 and Envoy's adaptive concurrency filter.
//
// Whatever the policy, a Controller only trips after batches at the smallest concurrency in which
// every call failed, from more than one record (one poison record failing again and again is the
// record's fault, not the provider's, and so is a failure among successes), waits for a minimum number of calls before it decides, and keeps the concurrency
// within [MIN_CONCURRENCY, MAX_CONCURRENCY] and the batch size within [MIN_BATCH, MAX_BATCH].
//
// The package is pure: standard library only, time is passed in, no goroutines, no I/O.
package adaptive
