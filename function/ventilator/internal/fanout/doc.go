// Package fanout calls the worker: [Caller] makes one timed Lambda Invoke (RequestResponse) under a
// per-call timeout and tells success from failure, and [Run] runs work over items with bounded
// concurrency (the pool: the invocation's share of the fleet's concurrency, over a batch that may be
// larger).
package fanout
