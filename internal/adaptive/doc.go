// Package adaptive chooses the ventilator's batch size, which is also its concurrency towards a
// downstream provider.
//
// The ventilator summarises each batch of calls into a [Batch], hands it with the previous [State] to a
// [Controller], stores the new State (in DynamoDB, under a conditional write) and applies the
// [Decision]: a new batch size for the event source mapping, or a trip that disables the mapping
// until a scheduled wake-up calls [Controller.Resume].
//
// Three policies are offered, chosen by name with [New]:
//
//   - "step": the original rule of the ventilator/worker pattern, -1 when more than half of the calls
//     were slow or failed, +1 when none was, otherwise hold;
//   - "aimd" (the default): additive increase, multiplicative decrease, in the manner of TCP;
//   - "gradient": follows the ratio between a long-term latency baseline and the latest latency, in the
//     spirit of Netflix concurrency-limits' Gradient2 and Envoy's adaptive concurrency filter.
//
// Whatever the policy, a Controller only trips after failures at the smallest batch size, waits for a
// minimum number of calls before it decides, and keeps the batch size within [MIN_BATCH, MAX_BATCH].
//
// The package is pure: standard library only, time is passed in, no goroutines, no I/O.
package adaptive
