// Package breaker answers the function's questions about circuits and aggregates the outcomes it
// reports, on top of the circuit cache and the DynamoDB store.
//
// Cost model (DESIGN.md "Scale"): a healthy environment costs one eventually consistent read per
// circuit per cache TTL and no writes. Acquire in CLOSED, in OPEN before retryAt and in a HALF_OPEN
// whose probe slots are all leased answers from the cache; only a free probe slot costs a
// conditional write, which is what elects the fleet's probes.
//
// The flush rule (fleet-true): outcomes are counted in memory per circuit and window bucket. A buffer
// that holds a failure or a slow call is written (with its successes) as one idempotent ADD per
// bucket to this environment's counter shard, and the circuit item is marked: its window holds a
// failure (circuit.Circuit.BadSince/BadUntil). Every environment reads the mark with the circuit, at
// least once per cache TTL, and while it is live writes its successes too. The model then decides on
// circuit.Policy.FleetWindow: only calls every one of which is written, those an environment started
// once it knew the mark (its cache's MarkSeenAt, circuit.Aware), which environments count apart as
// settled: an unbiased sample of the fleet's calls since the mark, and all of them once every
// environment had the time to see it (Options.Settle). They are the recent span the model judges on a
// lower confidence bound, and the window once they cover it; nothing is estimated from the traffic's
// pace. Runs of failures trip only under low traffic. A decision the rates may make later is owed and
// made by a later flush, on a window read at most a flush interval old while the mark is live. The
// circuit item is written only for a transition, its creation, the mark, or to settle a half-open
// trial.
//
// When: one environment writes a circuit's counts at most once per FlushInterval, by the report
// path (WriteIfDue) and the background flusher (FlushIfDue) together: one budget (plus the writes
// of transitions). The report path also holds back the calls that started less than FlushInterval
// after the last write, whatever their outcome, so whether a call is held does not depend on how
// long it took. The background flusher, in the default model (Invoked), leaves a circuit's counts to
// the report that is coming: for an interval after the thaw (at one INVOKE only) and while a call of
// it allowed here is unreported. The calls held from the last invocation then go out with this invocation's first
// report, in one write; a background write of their own would hold that report's calls back until
// the next thaw, and a write between a call's start and its report would hold it if fast and not if
// slow (reported past the interval), so the settled counts would lack fast calls. A run of failures
// that reaches the policy's threshold is judged at once, its counts keeping the budget, and Flush,
// for SHUTDOWN, writes everything. WriteIfDue is the default model's report path: it writes what a
// report put at stake, if due, within the caller's context (the invocation's deadline).
//
// A counter write whose answer was lost is retried as it was (same sequence number), so the store
// counts it once. Buckets that leave the window are let go unwritten but not unjudged: a run of
// failures is decided on however far apart its calls were. The breaker reads the clock only through
// Options.Now and starts no goroutine of its own (Flush fans out and joins), so a simulator can drive
// it on a virtual clock.
package breaker
