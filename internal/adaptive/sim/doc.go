// Package sim is a deterministic discrete-event simulation of the ventilator: an event source mapping
// polling a backlog, the ventilator fanning each batch out to a provider of limited capacity, and a
// concurrency policy choosing the next batch size, tripping and being woken by a schedule.
//
// Nothing sleeps: a virtual clock jumps from event to event, and all randomness comes from one seed,
// so a scenario gives the same figures on every run. [Run] plays a [Scenario] once per [Policy] and
// returns one [Row] per policy and phase; [WriteTable], [WriteJSON] and [WritePlot] present them.
package sim
