// Package fleetsim is the fleet simulator behind `make fleet`: it drives the real decision code (the
// circuit model, the extension's breaker with its cache and flush path, and the store's conditional
// writes and counters, on the in-memory store that passes the DynamoDB store's contract tests) for a
// fleet of up to 500 Lambda environments on a virtual clock, and measures whether the circuit trips
// when the fleet's calls fail and stays closed when they do not.
//
// Every run is one window of traffic at a true failure (or slow-call) rate, after one healthy window
// that warms the caches and the reference's window. Calls, their outcomes and their latencies are
// drawn once per run, before any system sees them, so the reference (one process that sees every
// call of the fleet and applies the same policy), the breaker and the two peers' rules are fed the
// same calls. Environments run only during their invocations: between two invocations they are
// frozen, so no timer of theirs fires.
package fleetsim
