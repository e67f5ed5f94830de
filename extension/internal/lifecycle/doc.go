// Package lifecycle runs the extension's side of the Lambda lifecycle on both execution models.
//
// Default model: register for INVOKE and SHUTDOWN and loop on /event/next. The environment may be
// frozen as soon as every extension has asked for its next event, so on INVOKE the loop waits for
// the Telemetry API's platform.runtimeDone of that invocation (the runtime has answered, so the
// function has reported all it will), flushes, and only then asks for the next event: outcomes are
// durable before a freeze. Without a Telemetry API subscription it flushes when a flush is due.
//
// Lambda Managed Instances: register for SHUTDOWN only (INVOKE is refused there); the environment is
// never frozen and serves many invocations at once, so outcomes are flushed on the extension's own
// clock, every flush interval.
//
// On both, a background flusher runs every flush interval while the process runs, and SHUTDOWN
// flushes everything before its deadline.
package lifecycle
