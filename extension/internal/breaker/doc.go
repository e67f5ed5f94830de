// Package breaker answers the function's questions about circuits and aggregates the outcomes it
// reports, on top of the circuit cache and the DynamoDB store.
//
// Cost model (DESIGN.md "Scale"): a healthy environment costs one eventually consistent read per
// circuit per cache TTL and no writes. Acquire in CLOSED, in OPEN before retryAt and in a HALF_OPEN
// whose probe slots are all leased answers from the cache; only a free probe slot costs a
// conditional write, which is what elects the fleet's probes. Outcomes are counted in memory per
// circuit and window bucket; a circuit's buffer is flushed only when it holds a failure or a slow call
// (with its calls, so rates stay meaningful), as one atomic ADD per bucket to this environment's
// counter shard. After a flush the window is summed (read from DynamoDB at most once per cache TTL,
// in between estimated from the last read plus this environment's own additions) and the model
// decides; the circuit item is written only for a transition, for its creation, or to settle a
// half-open trial (an outcome carrying a permit), never just to persist counts.
package breaker
