package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// TestUnansweredEndpointTimesOutClearly: against an endpoint that takes the connection and never
// answers, every command gives up after --aws-timeout (create-table too, whose table may take two
// minutes to become active) and says which endpoint did not answer within what, and what to do.
func TestUnansweredEndpointTimesOutClearly(t *testing.T) {
	url := testkit.HangingEndpoint(t)
	cfg := mototest.Shared(t).AWSConfig()
	cfg.BaseEndpoint = aws.String(url)
	cfg.HTTPClient = awshttp.NewBuildableClient() // the SDK's default, with no overall timeout of its own
	env := Env{
		Getenv: func(k string) string { return map[string]string{"BREAKERBOX_TABLE": "ctl-hang"}[k] },
		AWS:    func(context.Context) (aws.Config, error) { return cfg, nil },
	}
	for _, args := range [][]string{
		{"create-table"},
		{"circuits"},
		{"get", "inventory"},
		{"force-open", "inventory", "--reason", "r"},
		{"monitor", "list"},
	} {
		// The bounds are far above the 1s asked for (the SDK retries, and a loaded machine is
		// slow) and far below the two minutes create-table's waiter allows.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		var out, errOut testkit.SyncBuffer
		start := time.Now()
		code := run(ctx, append(args, "--aws-timeout", "1s"), &out, &errOut, env)
		took := time.Since(start)
		cancel()
		if took > time.Minute {
			t.Errorf("breakerctl %s --aws-timeout 1s took %s", strings.Join(args, " "), took.Round(time.Second))
		}
		want := "no answer from " + url + " (AWS_ENDPOINT_URL) within 1s (--aws-timeout)"
		if code != exitError || !strings.Contains(errOut.String(), want) {
			t.Errorf("breakerctl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), code, errOut.String(), exitError, want)
		}
	}
}
