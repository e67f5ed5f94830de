// Package lifecycle runs the extension's side of the Lambda lifecycle on both execution models.
//
// Default model: register for INVOKE and SHUTDOWN and loop on /event/next. The environment may be
// frozen once the runtime has answered and every extension has asked for its next event, and the
// function is billed until then; so on INVOKE the loop notes the invocation's deadline (Deadline)
// and asks for the next event at once: the extension adds nothing after the runtime's answer. What
// the function reports is made durable inside the report call itself (the server's report path
// writes what is at stake, bounded by Deadline), before the function can answer. A background
// flusher writes what is due while the environment is thawed: at each INVOKE and on a clock, each
// flush bounded by the current invocation's deadline less Margin.
//
// Lambda Managed Instances: register for SHUTDOWN only (INVOKE is refused there); the environment is
// never frozen and serves many invocations at once, so outcomes are flushed on the extension's own
// clock.
//
// On both, SHUTDOWN flushes everything before its deadline.
package lifecycle
