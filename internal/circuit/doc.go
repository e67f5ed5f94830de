// Package circuit is breakerbox's circuit-breaker model: states, the policy that decides transitions,
// and the transitions themselves as pure functions of (previous circuit, observations, policy, now).
//
// It does no I/O and reads no clock: callers pass time in, and the store persists the result with a
// conditional write on Version, so a decision taken on a stale copy is re-taken, never applied.
//
// Semantics are the standard ones: CLOSED lets calls through, OPEN fails them fast, HALF_OPEN lets a
// limited number of probe calls through fleet-wide. Operator overrides (FORCED_OPEN, FORCED_CLOSED)
// win over every automatic transition until cleared.
package circuit
