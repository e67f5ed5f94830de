package lambdaenv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// The SQS poller runs up to the mapping's MaximumConcurrency invocations at once, never more, and
// follows a change of it: each invocation here waits until the figure is reached, so the test
// fails (by its deadline) if the poller never runs that many, and any invocation beyond fails it
// at once.
func TestSQSPollerHonoursMaximumConcurrency(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	qc := sqs.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	url := createQueue(t, ctx, qc, unique("poller-maxconc"), map[string]string{"VisibilityTimeout": "30"})
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "maxconc-consumer", EventSourceArn: queueARNFromURL(url), BatchSize: 1, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	setMax := func(n int32) {
		if _, err := lc.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid),
			ScalingConfig: &lambdatypes.ScalingConfig{MaximumConcurrency: aws.Int32(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	setMax(3)
	for i := range 40 {
		if _, err := qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("m", i))}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		in, top int
		limit   = 3
		reached = map[int]bool{}
	)
	fn := funcInvoker(func(ctx context.Context, _ string, _ []byte) (Result, error) {
		mu.Lock()
		defer mu.Unlock()
		in++
		top = max(top, in)
		if in > limit {
			t.Errorf("%d invocations at once, MaximumConcurrency %d", in, limit)
		}
		cond.Broadcast()
		for in < limit && ctx.Err() == nil && !reached[limit] {
			cond.Wait()
		}
		if in >= limit {
			reached[limit] = true
		}
		in--
		cond.Broadcast()
		return Result{Payload: []byte(`{"batchItemFailures":[]}`)}, nil
	})
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: fn, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = p.Run(runCtx); close(done) }()
	defer func() {
		stop()
		mu.Lock()
		cond.Broadcast()
		mu.Unlock()
		<-done
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			good := ok()
			mu.Unlock()
			if good {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (stats %+v)", what, p.Stats())
			}
		}
	}
	waitFor("3 invocations at once", func() bool { return reached[3] })

	// Lower it to 2: once the poller has read the change and the invocations in flight have ended,
	// at most 2 run at once, and 2 do.
	setMax(2)
	// Until the poller reads the change and its third poller ends after its batch, a third
	// invocation may still start: allow it, then hold the new limit.
	mu.Lock()
	limit = 3
	mu.Unlock()
	for deadline := time.Now().Add(60 * time.Second); p.Stats().MaximumConcurrency != 2 || p.Stats().Pollers != 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the poller never went down to 2 pollers: %+v", p.Stats())
		}
	}
	mu.Lock()
	limit = 2
	mu.Unlock()
	waitFor("2 invocations at once", func() bool { return reached[2] })
	if s := p.Stats(); s.MaxInFlight != 3 {
		t.Errorf("MaxInFlight %d, want 3", s.MaxInFlight)
	}
}
