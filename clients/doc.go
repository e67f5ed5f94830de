// Package clients holds breakerbox's Python and Node.js clients, which the layer ships as
// python/breakerbox/ and nodejs/node_modules/breakerbox/ (standard library only, no Go code here).
//
// Its Go test is their harness: it builds the real extension, runs it under internal/lambdaenv
// with DynamoDB on moto_server, each in the sandbox of the matching example function
// (function/orders-python, function/orders-node) run by the small Runtime API loops in
// bootstrap/lambda_bootstrap.py and bootstrap/lambda_bootstrap.js, then runs `python3 -m unittest` and
// `node --test` with that sandbox's extension port and token in their environment. So `go test
// ./clients/` (and with it `make test`) runs the Python and Node tests against the real extension.
package clients
