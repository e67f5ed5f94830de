// Command worker is the provider worker the ventilator invokes once per record (RequestResponse):
// it simulates a provider with SLOW_RATIO, ERROR_RATIO, SLOW_DELAY and BASE_DELAY, or calls
// PROVIDER_URL for real (POST with the record, PROVIDER_TIMEOUT). A failed provider call fails the
// invoke, which the ventilator counts as a failure.
//
// Build: GOOS=linux go build -tags lambda.norpc -o bootstrap ./function/worker
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breakerbox/breakerbox/function/worker/internal/worker"
	"github.com/breakerbox/breakerbox/internal/lambdainit"
)

func main() {
	log := lambdainit.Logger(os.Stderr, os.LookupEnv, "worker")
	cfg, err := worker.LoadConfig(os.LookupEnv)
	if err != nil {
		lambdainit.Fail(log, err)
	}
	lambda.Start(worker.New(cfg, nil, log).Handle)
}
