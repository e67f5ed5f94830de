// Command breakerctl operates breakerbox: it lists and shows circuits, forces them open or closed,
// clears overrides, watches transitions as they happen, and manages the EventBridge schedule rules
// that run the checker for each monitored service.
//
// Run `breakerctl help` for the commands. AWS settings come from the SDK's standard sources
// (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...), the table from --table or BREAKERBOX_TABLE.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, Env{Getenv: os.Getenv, AWS: loadAWS})
	stop()
	os.Exit(code)
}

// loadAWS loads the SDK's configuration with breakerctl's logger from the start: the credential
// chain is built here and keeps the logger it is given, so setting one later left its "falling
// back to IMDSv1" notice printed raw before every missing-credentials error.
func loadAWS(ctx context.Context) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(sdkLogger{w: os.Stderr, local: os.Getenv("AWS_ENDPOINT_URL") != ""}))
}
