// Package check is the checker Lambda's handler: it parses the rule's input, probes every target
// concurrently (bounded), feeds each probe to the circuit model through the store's conditional
// writes, and publishes every state change to EventBridge.
//
// Per target:
//
//   - FORCED_OPEN, or OPEN before retryAt: nothing is sent downstream and nothing is written.
//   - OPEN past retryAt, or HALF_OPEN: the handler first takes a probe permit with a conditional
//     write (moving OPEN to HALF_OPEN); if another caller holds the lease it skips. The probe is
//     then the half-open trial, reported with its permit.
//   - CLOSED (or FORCED_CLOSED, or a circuit never seen): the probe is an observation; failures in a
//     row trip the circuit by the policy's consecutive-failure rule.
//
// A failed publish is logged and counted in the Summary; it never undoes or blocks the write.
package check
