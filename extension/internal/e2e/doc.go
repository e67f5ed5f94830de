// Package e2e holds the extension's end-to-end tests: the built extension binary runs in the local
// Lambda environment (internal/lambdaenv) next to a small test runtime, against DynamoDB on moto.
//
// The test binary doubles as that runtime: TestMain runs it as one when it is started under the name
// "runtime". The runtime executes the steps of its event (HTTP calls to the extension, client calls,
// barriers) and answers what it saw.
package e2e
