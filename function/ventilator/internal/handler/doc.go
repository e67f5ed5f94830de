// Package handler is the ventilator's orchestration: one [Handler.Invoke] per Lambda invoke, for a
// Kinesis batch, an SQS batch (standard or FIFO) or a wake-up (the EventBridge schedule, or the
// circuit's Circuit State Change event, whose detail is read forward-compatibly: unknown fields are
// ignored, a missing id or to is an error).
//
// A batch:
//
//  1. If the controller state says the ventilator tripped (it disabled the mapping and waits for the
//     wake-up), nothing is called: the mapping is kept disabled and every record is returned as a
//     batch item failure.
//  2. The extension is asked once (acquire). Denied by an OPEN or FORCED_OPEN circuit: the state is
//     marked tripped, the mapping is disabled at the smallest concurrency, and every record is
//     returned as a failure. Denied otherwise (HALF_OPEN with the probe held elsewhere, or an UNKNOWN circuit under
//     the closed fail mode): every record is returned as a failure and nothing else changes, since
//     no circuit said the provider is down. A half-open permit makes the
//     batch a probe: records run one at a time until one worker call has been made; the rest are
//     returned as failures. When the extension cannot answer, the client's fail mode decides: open
//     fans out, closed returns every record as a failure without touching the mapping (no circuit
//     said anything).
//  3. Records run in a pool over the batch: at most this invocation's share of the controller's
//     fleet-wide concurrency at once (adaptive.Share over open shards × parallelization factor on
//     Kinesis; adaptive.SQSScaling's pool on SQS, where Lambda runs up to the mapping's
//     MaximumConcurrency invocations at once). No record starts after the fan-out's deadline, the
//     function's less one call with its dedup writes and the settle reserve (the report, the state
//     write and the mapping update); the records not started are returned and counted as unsent.
//     The messages of one
//     SQS FIFO message group run in order, and once one fails the rest of its group is returned as
//     failures. Each record: not JSON or no string id → dead-letter queue at once; otherwise a claim
//     in the dedup table (done or dead-lettered today → skipped as a success; claimed elsewhere →
//     failure), attempts used up → dead-letter queue, else the worker is invoked; success marks it
//     done, a failure or a refusal (a throttle, the provider's 429) releases it without counting an
//     attempt.
//  4. The calls' outcomes are reported to the extension (with the probe's permit), less the refused
//     ones (a 429 or a throttle is the controller's signal, not the circuit's), folded into the
//     controller state (conditional write), and the decision applied to the mapping: a new batch size
//     (and on SQS MaximumConcurrency) only when the figures changed, a disable on a trip. The
//     controller trips only on failures of more than one record at the smallest concurrency: one
//     poison record failing alone goes its way to the dead-letter queue. Batches never enable the
//     mapping.
//  5. One Embedded Metric Format line.
//  6. The failures that were the records' own are charged to them, and a record whose attempts that
//     uses up goes to the dead-letter queue (the attempt rule in attempts.go, by which an outage
//     never costs a record its attempts); then the batchItemFailures.
//
// The wake-up comes from the circuit's own Circuit State Change event (to HALF_OPEN or CLOSED,
// through an EventBridge rule on the circuit) or from the schedule, the backstop. It re-enables the
// mapping at the smallest concurrency (and resumes the controller) only when the ventilator itself tripped and the
// circuit allows a call or a probe: CLOSED, FORCED_CLOSED, HALF_OPEN, or OPEN past its retryAt. The
// resumed state carries the Resuming mark until the mapping is seen enabled: a failed enable fails
// the invoke and the next wake-up (the event's retry, or the schedule) enables it, never forgotten.
// A trip of the controller's own (failures at the floor) may leave the circuit CLOSED, and then no
// state change ever comes: it stores WakeAt (the trip + WAKE_AFTER), and the ventilator's own
// schedule (SelfWake, rate(1 minute), whose input is {"source":"breakerbox.ventilator",
// "detail-type":"Ventilator Wake"}) resumes it on its first tick from then on while the circuit is
// still CLOSED or FORCED_CLOSED (selfwake.go). A mapping disabled by someone else is left alone.
//
// No record is ever dropped: each ends as a success (processed, or already processed today), a batch
// item failure (retried by Lambda), or a message in the dead-letter queue.
package handler
