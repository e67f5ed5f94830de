// Package loadgen is a small HTTP/1.1 load generator for the extension's benchmarks: N keep-alive
// connections, each sending one request at a time and reading the answer (Content-Length bodies
// only), either as fast as they can or paced to a total rate. It measures throughput and latency
// percentiles. Requests are written from pre-built bytes and answers parsed by hand, so the
// generator costs little CPU next to the server it measures (the machine has two cores), as wrk does.
package loadgen
