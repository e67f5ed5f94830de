// Package controlstate keeps the ventilator's controller state ([adaptive.State]: the fleet's
// concurrency and the batch size) in breakerbox's table, shared by every ventilator on one event
// source mapping (a Kinesis stream's shards, or concurrent SQS pollers, run concurrent ventilators).
//
// Item: pk = "ventilator#<mapping uuid>", sk = "controller"; attributes state (a map, the
// adaptive.State), marks (a map, the ventilator's own [Marks], absent when empty), version (N),
// updatedAt (epoch ms), writeToken (a random id per write) and writeTokens (the ids of the latest 32
// writes, oldest first). No expiresAt: the state lives as long as the mapping.
//
// Every write is a PutItem conditional on the version read. A ventilator that loses the race gets the
// winner's item back with the failed condition and applies its own batch again on top of it, so two
// ventilators finishing batches at once both count: no update is lost and none is overwritten. The
// write tokens recognise the ventilator's own write when the SDK retried a put whose answer was lost
// (the retry fails its condition against the item it wrote, or one another ventilator wrote over it
// since), so a batch is never counted twice.
package controlstate
