// Package e2e holds the ventilator's end-to-end tests: the built ventilator (with the built
// breakerbox extension attached) and worker run as functions in the local Lambda environment
// (internal/lambdaenv), fed by its event source poller and scheduler from a Kinesis stream or an SQS
// queue in moto, and calling a provider the test controls.
package e2e
