// Package mapping controls the ventilator's event source mapping through the Lambda API: it finds
// the mapping (by ESM_UUID, or by listing the mappings of the function on EVENT_SOURCE_ARN), reads
// its batch size, enabled flag and (on SQS) ScalingConfig.MaximumConcurrency, and changes them with UpdateEventSourceMapping only when they
// differ from what is wanted.
//
// Updates are retried with capped, jittered exponential backoff on ResourceInUseException (the
// mapping is still Updating after a previous change) and TooManyRequestsException (the control
// plane's rate limit), and every call is bounded by a timeout. A batch size is clamped to what the
// source accepts: 10 for an SQS FIFO queue, 10 for a standard queue without a batching window, 10000
// otherwise.
package mapping
