// Package events publishes circuit state changes to Amazon EventBridge, as the design contract fixes
// them: source "breakerbox", detail-type "Circuit State Change", and a detail of
// {"id","from","to","reason","at","version"} with "at" in RFC 3339.
//
// Each part publishes the transitions it wrote (the winner of a conditional write is the only part
// that knows it made one) through an Outbox: a publish never blocks or undoes the state write, and a
// failed one is recorded in the circuit item and published by the next part that writes the circuit,
// so none is lost and each is sent once (its version identifies it).
package events
