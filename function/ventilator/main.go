// Command ventilator is the adaptive fan-out Lambda: it consumes a Kinesis stream or an SQS queue,
// asks the breakerbox extension before fanning records out to the worker, adapts its batch size to
// the worker's latency and errors, and disables its event source mapping when even batch size 1
// fails, until its scheduled wake-up. See package handler for the behaviour and package config for
// the environment.
//
// Build: GOOS=linux go build -tags lambda.norpc -o bootstrap ./function/ventilator
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/emf"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/handler"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/shards"
	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/lambdainit"
)

func main() {
	log := lambdainit.Logger(os.Stderr, os.LookupEnv, "ventilator")
	h, err := setup(log)
	if err != nil {
		lambdainit.Fail(log, err)
	}
	lambda.Start(h.Invoke)
}

// setup reads the configuration and wires the handler to AWS (through the SDK's standard settings,
// AWS_ENDPOINT_URL_* included) and to the extension.
func setup(log *slog.Logger) (*handler.Handler, error) {
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	ctrl, err := adaptive.New(cfg.Adaptive)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Enough idle connections for a full pool of concurrent worker invokes.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(cfg.Adaptive.MaxConcurrency, 16)
	})
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithHTTPClient(httpClient))
	if err != nil {
		return nil, fmt.Errorf("AWS SDK configuration: %w", err)
	}
	bb, err := client.New()
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	lc := awslambda.NewFromConfig(awsCfg)
	esm := mapping.New(lc, mapping.Locator{UUID: cfg.ESMUUID, FunctionName: cfg.FunctionName, EventSourceARN: cfg.EventSourceARN},
		mapping.Options{Timeout: cfg.AWSTimeout})
	return handler.New(cfg, handler.Deps{
		Breaker:    bb,
		Dedup:      dedup.New(db, cfg.DedupTable, dedup.Options{Lease: cfg.ClaimLease(), TTL: cfg.DedupTTL, Timeout: cfg.AWSTimeout}),
		State:      controlstate.New(db, cfg.Table, controlstate.Options{Timeout: cfg.AWSTimeout}),
		Mapping:    esm,
		Shards:     shards.New(kinesis.NewFromConfig(awsCfg), esm, time.Minute, cfg.AWSTimeout, nil),
		Worker:     fanout.NewCaller(lc, cfg.WorkerFunction, cfg.InvokeTimeout, nil),
		DLQ:        deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL, cfg.AWSTimeout),
		Metrics:    emf.New(os.Stdout, nil),
		Controller: ctrl,
		Log:        log,
	})
}
