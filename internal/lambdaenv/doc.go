// Package lambdaenv runs AWS Lambda functions and their external extensions on one machine, the way
// the Lambda service does, so that tests and the demo need no AWS account.
//
// An [Env] holds named functions ([Env.AddFunction]). Each function runs in sandboxes, created on
// demand up to its maximum concurrency. A sandbox is one runtime process plus its extension
// processes, each in its own process group, sharing a loopback port that serves the Lambda Runtime
// API (2018-06-01) and Extensions API (2020-01-01); the processes find it in AWS_LAMBDA_RUNTIME_API.
// The lifecycle follows Lambda's: extensions start and register, then the runtime starts; init is
// done when the runtime asks for its first event and every extension has called /event/next. An
// invoke sends the event to the runtime and INVOKE to the extensions, and completes when the runtime
// has answered and every extension has asked for its next event. Timeouts, crashes and init failures
// reset the sandbox: SHUTDOWN (with a deadline) to the extensions, SIGTERM to the runtime, SIGKILL
// for whatever is left. Sandboxes may be frozen (SIGSTOP) between invokes.
//
// With FunctionConfig.ManagedConcurrency a function runs on the Lambda Managed Instances model
// instead: each sandbox serves that many invokes at once (the runtime gets AWS_LAMBDA_MAX_CONCURRENCY
// and may hold as many /next calls), extensions may register for SHUTDOWN only, and nothing is
// frozen. On both models the sandbox port also serves the Telemetry API (2022-07-01): an extension
// subscribes, and platform.runtimeDone is POSTed to its listener when the runtime answers.
//
// The Env also serves the Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations) so the
// AWS SDK's Invoke works against [Env.URL]; every other path is proxied to an optional upstream
// (moto_server), so one endpoint serves both.
//
// [Poller] feeds a function from a Kinesis stream or an SQS queue as an event source mapping does,
// reading the mapping (batch size, state, response types) from the Lambda API before every poll.
// [Scheduler] delivers EventBridge scheduled events with time compression, from static rules or
// following the rate() rules stored in EventBridge.
//
// # With moto_server
//
// The mapping a Poller follows lives in moto's Lambda API: create it with [CreateMapping] (which
// calls [RegisterInMoto] to create the function record and the IAM role moto requires) before any
// record is sent, then run [NewPoller] on its UUID. Functions that change their own mapping
// (UpdateEventSourceMapping) reach moto through the Env when Config.Upstream is moto's URL and
// their AWS_ENDPOINT_URL_LAMBDA is [Env.URL]. moto specifics handled here: its mappings deliver to
// Docker by themselves (CreateMapping detaches that by recreating the empty source), it answers
// State "Disabled" at once where AWS passes through "Disabling", it gives FIFO messages a
// SequenceNumber only when the sender set a MessageDeduplicationId (the Poller fills one in), and
// it redelivers several failed messages of one FIFO group out of order (the Poller releases them
// together).
package lambdaenv
