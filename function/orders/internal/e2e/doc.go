// Package e2e runs the orders function as built, with the real extension, in the local Lambda
// environment (internal/lambdaenv), against moto_server and a test inventory service.
package e2e
