// Command checker is the breakerbox checker Lambda: run by one EventBridge schedule rule per monitored
// service, it probes each service named in the rule's constant Input and moves its circuit between
// CLOSED, OPEN and HALF_OPEN, publishing every change to EventBridge. The logic is in package check;
// this file only wires configuration and clients.
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
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/lambdainit"
	"github.com/breakerbox/breakerbox/internal/store"
)

func main() {
	log := lambdainit.Logger(os.Stderr, os.LookupEnv, "checker")
	h, err := setup(context.Background(), os.Getenv, log)
	if err != nil {
		// Reported to the Runtime API too, so that the invoke that started the sandbox fails with
		// the message rather than a bare exit status.
		lambdainit.Fail(log, fmt.Errorf("checker cannot start: %w", err))
	}
	lambda.Start(h.Handle)
}

// setup validates the configuration and builds the handler with its AWS clients.
func setup(ctx context.Context, getenv func(string) string, log *slog.Logger) (*check.Handler, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Keep as many DynamoDB connections open as the handler makes calls at once, so a run reuses
	// them instead of paying a TLS handshake per write (the SDK keeps 10 per host by default).
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = check.DefaultStoreConcurrency + 4
	})
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithHTTPClient(httpClient))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, store.Options{Timeout: cfg.StoreTimeout})
	pub := events.NewPublisher(eventbridge.NewFromConfig(awsCfg), events.Options{Bus: cfg.EventBus, Timeout: cfg.PublishTimeout})
	log.Info("checker configured", "table", cfg.Table, "eventBus", cfg.EventBus, "storeTimeout", cfg.StoreTimeout.String(),
		"concurrency", cfg.Concurrency, "heartbeat", cfg.Heartbeat.String())
	return check.New(st, pub, check.Config{Policy: cfg.Policy, Concurrency: cfg.Concurrency, Heartbeat: cfg.Heartbeat, Logger: log})
}
