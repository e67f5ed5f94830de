package lambdaenv_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// A function with the breakerbox extension, each sandbox's extension on its own port, frozen
// between invokes, invoked directly and through the SDK's endpoint.
func Example() {
	ctx := context.Background()
	env, err := lambdaenv.New(lambdaenv.Config{
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		// Upstream: moto.URL, // so AWS_ENDPOINT_URL_LAMBDA=env.URL() also serves moto's Lambda API
	})
	if err != nil {
		panic(err)
	}
	if err := env.Start(); err != nil {
		panic(err)
	}
	defer env.Close(context.Background())

	_, err = env.AddFunction(lambdaenv.FunctionConfig{
		Name:       "orders",
		Command:    []string{"./bin/orders"},
		Extensions: []string{"./layer/extensions/breakerbox"},
		Env:        append(os.Environ(), "BREAKERBOX_TABLE=breakerbox", "AWS_ENDPOINT_URL_LAMBDA="+env.URL()),
		SandboxEnv: func(i int) []string { return []string{fmt.Sprintf("BREAKERBOX_PORT=%d", 4243+i)} },
		Timeout:    10 * time.Second,
		Freeze:     true,
	})
	if err != nil {
		panic(err)
	}
	res, err := env.Invoke(ctx, "orders", []byte(`{"order":"42"}`))
	if err != nil {
		panic(err) // ErrTooManyRequests, ErrFunctionNotFound, ErrClosed or ctx
	}
	if err := res.Err(); err != nil {
		fmt.Println("function failed:", err) // e.g. Sandbox.Timedout: RequestId: ... Task timed out after 10.00 seconds
	}
	fmt.Println(string(res.Payload))
}

// An SQS queue feeding a function through an event source mapping stored in moto, and a schedule
// that wakes the function every 10 (compressed: 2) seconds.
func ExampleCreateMapping() {
	ctx := context.Background()
	var cfg aws.Config // motoserver.Server.AWSConfig()
	var env *lambdaenv.Env

	uuid, err := lambdaenv.CreateMapping(ctx, cfg, lambdaenv.MappingInput{
		FunctionName:            "ventilator",
		EventSourceArn:          "arn:aws:sqs:us-east-1:123456789012:orders", // created, still empty
		BatchSize:               10,
		ReportBatchItemFailures: true,
	})
	if err != nil {
		panic(err)
	}
	poller, err := lambdaenv.NewPoller(ctx, lambdaenv.PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: env, PollInterval: 200 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	sched, err := lambdaenv.NewScheduler(lambdaenv.SchedulerConfig{
		Invoker: env,
		Speedup: 300,
		Rules:   []lambdaenv.ScheduleRule{{Name: "wake-ventilator", Schedule: "rate(10 minutes)", Function: "ventilator"}},
	})
	if err != nil {
		panic(err)
	}
	go poller.Run(ctx)
	go sched.Run(ctx)
	fmt.Println(poller.Stats().Batches)
}
