package lambdaenv

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
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

// The Kinesis poller runs one invocation per shard at a time, the shards at once: with two shards
// each invocation waits for the other shard's, so the test fails (by its deadline) if the shards
// are read one after the other, and every record the stream holds is delivered once. The record
// is known by its event ID (shard and sequence number), not its data: PutRecord is not idempotent,
// and an SDK retry of a put that had landed stores the same data twice, which is the producer's
// duplicate, not the poller's.
func TestKinesisPollerRunsShardsAtOnce(t *testing.T) {
	cfg := mototest.Shared(t).AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kc := kinesis.NewFromConfig(cfg)
	arn := createStream(t, ctx, kc, unique("poller-shards"), 2)
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "shards-consumer", EventSourceArn: arn, BatchSize: 2, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		// Explicit hash keys at both ends of the key space put records on both shards.
		hash := "0"
		if i%2 == 1 {
			hash = "170141183460469231731687303715884105729"
		}
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), Data: fmt.Appendf(nil, "r%02d", i),
			PartitionKey: aws.String("k"), ExplicitHashKey: aws.String(hash)}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu     sync.Mutex
		cond   = sync.NewCond(&mu)
		in     int
		paired bool
		seen   = map[string]int{} // data -> deliveries
		byID   = map[string]int{} // event ID -> deliveries
	)
	fn := funcInvoker(func(ctx context.Context, _ string, payload []byte) (Result, error) {
		var ev events.KinesisEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Errorf("payload %s: %v", payload, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			seen[string(r.Kinesis.Data)]++
			byID[r.EventID]++
		}
		in++
		cond.Broadcast()
		for in < 2 && !paired && ctx.Err() == nil {
			cond.Wait()
		}
		if in >= 2 {
			paired = true
		}
		in--
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
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		ok := paired && len(seen) == 20
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: paired %v, %d of 20 records seen (stats %+v)", paired, len(seen), p.Stats())
		}
	}
	stored := streamEventIDs(t, ctx, kc, arn)
	mu.Lock()
	defer mu.Unlock()
	for id, n := range byID {
		if n != 1 {
			t.Errorf("record %s delivered %d times, want once (deliveries by data %v, stats %+v)", id, n, seen, p.Stats())
		}
		if !stored[id] {
			t.Errorf("record %s delivered but not in the stream", id)
		}
	}
	for id := range stored {
		if byID[id] == 0 {
			t.Errorf("record %s of the stream never delivered", id)
		}
	}
	if len(stored) != 20 {
		t.Logf("the stream holds %d records for 20 puts: a put was retried after it had landed", len(stored))
	}
}

// streamEventIDs reads every record of every shard of the stream from its start and returns their
// event IDs as Lambda forms them (shard ID, a colon, sequence number).
func streamEventIDs(t *testing.T, ctx context.Context, kc *kinesis.Client, arn string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	shards, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards.Shards {
		for _, r := range readShard(ctx, t, kc, arn, aws.ToString(sh.ShardId)) {
			ids[aws.ToString(sh.ShardId)+":"+aws.ToString(r.SequenceNumber)] = true
		}
	}
	return ids
}

// A standard queue's poller reads the mapping before each poll: a mapping disabled from inside an
// invocation is not polled again. The supervisor re-reads the mapping only once a minute here, so a
// poller that went by the supervisor's last read would receive and deliver the next message at once.
func TestSQSPollerStopsAtTheDisable(t *testing.T) {
	cfg := mototest.Shared(t).AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	qc := sqs.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	url := createQueue(t, ctx, qc, unique("poller-disable"), map[string]string{"VisibilityTimeout": "30"})
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "disable-consumer", EventSourceArn: queueARNFromURL(url), BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("m", i))}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		batches int
	)
	fn := funcInvoker(func(ctx context.Context, _ string, payload []byte) (Result, error) {
		mu.Lock()
		defer mu.Unlock()
		batches++
		if batches > 1 {
			t.Errorf("batch %s delivered after the mapping was disabled", payload)
			return Result{Payload: []byte("null")}, nil
		}
		if _, err := lc.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), Enabled: aws.Bool(false)}); err != nil {
			t.Errorf("disable the mapping: %v", err)
		}
		return Result{Payload: []byte("null")}, nil
	})
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: fn, PollInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	runPoller(t, p)
	// The supervisor's first read sets State and one poller at once; the poller leaves (Pollers 0)
	// only once it has read the disable.
	eventually(t, "the poller to stop after the disable", func() bool {
		st := p.Stats()
		return st.State != "" && st.Batches >= 1 && st.Pollers == 0
	})
	if st := p.Stats(); st.Batches != 1 || st.Succeeded != 1 {
		t.Errorf("stats %+v, want the one batch before the disable, settled", st)
	}
}
