// Package fanout calls the worker: [Caller] makes one timed Lambda Invoke (RequestResponse) under a
// per-call timeout and tells success from failure, and [Run] runs work over items with bounded
// concurrency (the ventilator's batch size).
package fanout
