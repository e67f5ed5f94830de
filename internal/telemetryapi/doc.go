// Package telemetryapi is the extension's side of the AWS Lambda Telemetry API (2022-07-01): Subscribe
// asks Lambda to send platform events to a Listener, an HTTP endpoint in the extension's process that
// receives the batches Lambda POSTs and tells a waiter when the runtime has answered an invocation
// (platform.runtimeDone).
//
// An extension that must finish work caused by an invocation before the environment can be frozen
// waits for that invocation's runtimeDone before calling /event/next: Lambda freezes the environment
// only once every extension has asked for its next event
// (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html).
package telemetryapi
