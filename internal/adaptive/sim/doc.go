// Package sim is a deterministic discrete-event simulation of the ventilator: an event source mapping
// delivering batches, ventilators running a pool of their share of the fleet's concurrency over each
// batch, a provider that shares its capacity, queues calls beyond it (FIFO) or refuses them (limited),
// the circuit of internal/circuit fed with the calls' outcomes and a checker's probes, the wake-up on
// the circuit's Circuit State Change event with a schedule as backstop, the ventilator's own
// one-minute schedule after a trip of its controller's own, dedup, the dead-letter queue after
// MaxAttempts and poison records. The controller (adaptive.Pool, Controller.Resume) and the circuit
// (internal/circuit) are the ventilator's own code; the handler's steps around them (acquire,
// fan-out, settle, the wake-up rules) are played here, and kept in step with
// function/ventilator/internal/handler by hand.
//
// Nothing sleeps: a virtual clock jumps from event to event, and all randomness comes from one seed,
// so a scenario gives the same figures on every run. [Run] plays a [Scenario] once per [Policy];
// [Rows] turns the outcomes into figures per phase, [Sweep] folds many seeds into [Summary] values
// whose [Summary.Line] is the `sim:` line of `make sim`; [WriteTable], [WriteJSON] and [WritePlot]
// present them.
package sim
