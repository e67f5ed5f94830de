package lambdaenv

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// funcInvoker is an in-process function for poller tests.
type funcInvoker func(ctx context.Context, name string, payload []byte) (Result, error)

func (f funcInvoker) Invoke(ctx context.Context, name string, payload []byte) (Result, error) {
	return f(ctx, name, payload)
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func itemFailures(ids ...string) Result {
	var resp events.SQSEventResponse
	for _, id := range ids {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	b, _ := json.Marshal(resp)
	return Result{Payload: b}
}

var functionError = Result{Payload: []byte(`{"errorMessage":"batch failed","errorType":"errorString"}`), FunctionError: FunctionErrorUnhandled}

// runPoller runs p until the test ends and checks that it stops cleanly on cancel.
func runPoller(t *testing.T, p *Poller) { runUntilCleanup(t, "poller", p.Run) }

// runUntilCleanup runs run until the test ends and checks that it returns nil soon after its
// context is cancelled; what names the runner in failures.
func runUntilCleanup(t *testing.T, what string, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s Run: %v", what, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the %s did not stop after its context was cancelled", what)
		}
	})
}

// createQueue creates an SQS queue with attrs and returns its URL.
func createQueue(t *testing.T, ctx context.Context, qc *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}

// createStream creates a Kinesis stream with shards shards and returns its ARN.
func createStream(t *testing.T, ctx context.Context, kc *kinesis.Client, name string, shards int32) string {
	t.Helper()
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	sum, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(sum.StreamDescriptionSummary.StreamARN)
}

// progress tracks what a scripted function processed, for "nothing lost, nothing twice" checks.
type progress struct {
	mu        sync.Mutex
	t         *testing.T
	processed []string
	done      map[string]bool
	delivered map[string]int
	batches   []int
}

func newProgress(t *testing.T) *progress {
	return &progress{t: t, done: map[string]bool{}, delivered: map[string]int{}}
}

func (p *progress) batch(items []string) {
	p.batches = append(p.batches, len(items))
	for _, it := range items {
		if p.done[it] {
			p.t.Errorf("%s delivered again after it was processed", it)
		}
		p.delivered[it]++
	}
}

func (p *progress) ok(it string) {
	p.processed = append(p.processed, it)
	p.done[it] = true
}

func (p *progress) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.processed)
}

func (p *progress) batchCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.batches)
}

// Kinesis: batches follow the mapping's batch size as it changes, a disabled mapping is not polled,
// an item failure checkpoints before the failed record and retries from it, a function error retries
// the batch, and every record is processed once, in order.
func TestKinesisPoller(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	kc := kinesis.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	arn := createStream(t, ctx, kc, unique("poller-kinesis"), 1)
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "kinesis-consumer", EventSourceArn: arn, BatchSize: 5, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	before := time.Now().Add(-time.Second)
	for i := range n {
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), Data: fmt.Appendf(nil, "r%02d", i), PartitionKey: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
	}

	// The stream itself is the ground truth: a producer's retried PutRecord can store a record twice
	// (at-least-once, as in Kinesis), and each stored copy must then be processed once. Records are
	// keyed by data@sequence so the checks below are about stream records, not payloads.
	stored := readStream(ctx, t, kc, arn)
	pr := newProgress(t)
	var failed07, failed12, resized, disabled bool
	var failedKeys []string
	disabledAt := make(chan struct{})
	update := func(in *lambda.UpdateEventSourceMappingInput) {
		in.UUID = aws.String(uuid)
		out, err := lc.UpdateEventSourceMapping(ctx, in)
		if err != nil {
			t.Errorf("UpdateEventSourceMapping: %v", err)
			return
		}
		if in.Enabled != nil && !*in.Enabled && aws.ToString(out.State) != "Disabled" {
			t.Logf("moto answered state %q to a disable", aws.ToString(out.State))
		}
	}
	fn := funcInvoker(func(ctx context.Context, name string, payload []byte) (Result, error) {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		if name != "kinesis-consumer" {
			t.Errorf("invoked %q", name)
		}
		var ev events.KinesisEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		var items, keys []string
		for _, r := range ev.Records {
			k := r.Kinesis
			if r.EventSource != "aws:kinesis" || r.EventSourceArn != arn || r.EventName != "aws:kinesis:record" || r.AwsRegion != "us-east-1" ||
				r.EventID != "shardId-000000000000:"+k.SequenceNumber || k.PartitionKey != "k" || k.KinesisSchemaVersion != "1.0" ||
				k.ApproximateArrivalTimestamp.Before(before) || r.InvokeIdentityArn == "" {
				t.Errorf("badly shaped record %+v", r)
			}
			items = append(items, string(k.Data))
			keys = append(keys, string(k.Data)+"@"+k.SequenceNumber)
		}
		pr.batch(keys)
		if resized && len(items) > 2 {
			t.Errorf("batch of %d after the batch size became 2", len(items))
		}
		if len(items) > 5 {
			t.Errorf("batch of %d with batch size 5", len(items))
		}
		if !failed12 && slices.Contains(items, "r12") {
			failed12 = true
			for i, it := range items {
				if it == "r12" {
					failedKeys = append(failedKeys, keys[i])
				}
			}
			return functionError, nil
		}
		for i, it := range items {
			if it == "r07" && !failed07 {
				failed07 = true
				failedKeys = append(failedKeys, keys[i])
				return itemFailures(ev.Records[i].Kinesis.SequenceNumber), nil
			}
			pr.ok(keys[i])
		}
		if slices.Contains(items, "r15") && !resized {
			resized = true
			update(&lambda.UpdateEventSourceMappingInput{BatchSize: aws.Int32(2)})
		}
		if slices.Contains(items, "r21") && !disabled {
			disabled = true
			update(&lambda.UpdateEventSourceMappingInput{Enabled: aws.Bool(false)})
			close(disabledAt)
		}
		return Result{Payload: []byte(`{"batchItemFailures":[]}`)}, nil
	})
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: fn, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runPoller(t, p)

	select {
	case <-disabledAt:
	case <-ctx.Done():
		t.Fatalf("never reached r21; processed %v", pr.processed)
	}
	skipped, batches := p.Stats().SkippedPolls, pr.batchCount()
	eventually(t, "polls of the disabled mapping", func() bool { return p.Stats().SkippedPolls >= skipped+3 })
	if got := pr.batchCount(); got != batches {
		t.Fatalf("%d batches delivered while the mapping was disabled", got-batches)
	}
	if st := p.Stats().State; st != "Disabled" {
		t.Errorf("mapping state %q while disabled", st)
	}
	update(&lambda.UpdateEventSourceMappingInput{Enabled: aws.Bool(true)})
	eventually(t, "every record to be processed", func() bool { return pr.count() >= len(stored) })
	// The function sees the last record before the poller, once the invoke has returned, counts it
	// as succeeded: the counters are read once they show it.
	eventually(t, "the poller to settle every record", func() bool { return p.Stats().Succeeded >= int64(len(stored)) })

	pr.mu.Lock()
	defer pr.mu.Unlock()
	if !slices.Equal(pr.processed, stored) {
		t.Fatalf("processed %v\nwant every stored record once, in stream order: %v", pr.processed, stored)
	}
	for i := range n {
		if !slices.ContainsFunc(stored, func(k string) bool { return strings.HasPrefix(k, fmt.Sprintf("r%02d@", i)) }) {
			t.Fatalf("r%02d is not in the stream: %v", i, stored)
		}
	}
	if len(stored) > n {
		t.Logf("the producer's retries stored %d records twice; each copy was processed once", len(stored)-n)
	}
	if !failed07 || !failed12 || len(failedKeys) < 2 {
		t.Fatalf("r07 item failure %v, r12 function error %v: both must have happened", failed07, failed12)
	}
	for _, k := range failedKeys {
		if pr.delivered[k] != 2 {
			t.Errorf("%s delivered %d times: want it retried once", k, pr.delivered[k])
		}
	}
	st := p.Stats()
	if st.Succeeded != int64(len(stored)) || st.FunctionErrors != 1 || st.Failures == 0 || st.Batches != int64(len(pr.batches)) || st.State != "Enabled" || st.BatchSize != 2 {
		t.Errorf("stats %+v", st)
	}
}

// SQS (standard): up to BatchSize messages gathered over several receives, the batch size and the
// enabled flag followed at the next poll, succeeded messages deleted, failed ones back after the
// visibility timeout, nothing lost and nothing processed twice.
func TestSQSPoller(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	qc := sqs.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	name := unique("poller-sqs")
	// Long enough that no batch outlives it on a loaded machine (a message shown again while its
	// batch runs is delivered twice, which the exact counts below would take for a poller bug).
	url := createQueue(t, ctx, qc, name, map[string]string{"VisibilityTimeout": "4"})
	arn := queueARNFromURL(url)
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "sqs-consumer", EventSourceArn: arn, BatchSize: 15, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		if _, err := qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprintf("m%02d", i)),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}}); err != nil {
			t.Fatal(err)
		}
	}

	pr := newProgress(t)
	var failed03, failed20, resized, disabled bool
	receiveCount := map[string][]string{}
	disabledAt := make(chan struct{})
	update := func(in *lambda.UpdateEventSourceMappingInput) {
		in.UUID = aws.String(uuid)
		if _, err := lc.UpdateEventSourceMapping(ctx, in); err != nil {
			t.Errorf("UpdateEventSourceMapping: %v", err)
		}
	}
	fn := funcInvoker(func(ctx context.Context, name string, payload []byte) (Result, error) {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		var items []string
		for _, m := range ev.Records {
			sum := md5.Sum([]byte(m.Body))
			if m.EventSource != "aws:sqs" || m.EventSourceARN != arn || m.AWSRegion != "us-east-1" || m.MessageId == "" || m.ReceiptHandle == "" ||
				m.Md5OfBody != hex.EncodeToString(sum[:]) || m.Attributes["SentTimestamp"] == "" || m.Attributes["ApproximateFirstReceiveTimestamp"] == "" ||
				m.MessageAttributes["kind"].StringValue == nil || *m.MessageAttributes["kind"].StringValue != "test" || m.MessageAttributes["kind"].DataType != "String" {
				t.Errorf("badly shaped message %+v", m)
			}
			receiveCount[m.Body] = append(receiveCount[m.Body], m.Attributes["ApproximateReceiveCount"])
			items = append(items, m.Body)
		}
		first := len(pr.batches) == 0
		pr.batch(items)
		if first && len(items) != 15 {
			t.Errorf("first batch has %d messages, want 15 (batch size 15, gathered from receives of at most 10)", len(items))
		}
		if resized && len(items) > 4 {
			t.Errorf("batch of %d after the batch size became 4", len(items))
		}
		if first {
			resized = true
			update(&lambda.UpdateEventSourceMappingInput{BatchSize: aws.Int32(4)})
		}
		if !failed20 && slices.Contains(items, "m20") {
			failed20 = true
			return functionError, nil
		}
		var failedIDs []string
		for i, it := range items {
			if it == "m03" && !failed03 {
				failed03 = true
				failedIDs = append(failedIDs, ev.Records[i].MessageId)
				continue
			}
			pr.ok(it)
		}
		if len(pr.processed) >= 18 && !disabled && pr.done["m03"] {
			disabled = true
			update(&lambda.UpdateEventSourceMappingInput{Enabled: aws.Bool(false)})
			close(disabledAt)
		}
		return itemFailures(failedIDs...), nil
	})
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: fn, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runPoller(t, p)

	select {
	case <-disabledAt:
	case <-ctx.Done():
		t.Fatalf("never disabled; processed %v", pr.processed)
	}
	// The disable was stored inside the invocation that closed disabledAt, and the poller reads the
	// mapping before each poll, so no batch may follow that one.
	skipped, batches := p.Stats().SkippedPolls, pr.batchCount()
	eventually(t, "polls of the disabled mapping", func() bool { return p.Stats().SkippedPolls >= skipped+3 })
	if got := pr.batchCount(); got != batches {
		t.Fatalf("%d batches delivered while the mapping was disabled", got-batches)
	}
	update(&lambda.UpdateEventSourceMappingInput{Enabled: aws.Bool(true)})
	eventually(t, "every message to be processed", func() bool { return pr.count() >= n })
	eventually(t, "the queue to be empty", func() bool {
		out, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		return err == nil && out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	})

	// The poller counts a batch's messages as succeeded only after it has deleted them, so the queue
	// can be empty while the last batch is not counted yet: the counters are read once they show it.
	eventually(t, "the poller to settle every message", func() bool { return p.Stats().Succeeded >= n })

	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.processed) != n {
		t.Errorf("processed %d messages, want %d: %v", len(pr.processed), n, pr.processed)
	}
	for i := range n {
		if it := fmt.Sprintf("m%02d", i); !pr.done[it] {
			t.Errorf("%s was never processed", it)
		}
	}
	if got := receiveCount["m03"]; len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("m03 receive counts %v, want [1 2] (failed once, back after the visibility timeout)", got)
	}
	if got := receiveCount["m20"]; len(got) != 2 || got[1] != "2" {
		t.Errorf("m20 receive counts %v, want a retry after the function error", got)
	}
	// SQS delivers at least once: a copy of a message may come again even after it was deleted
	// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html).
	// moto keeps one copy and shows a received message again only once its visibility timeout has
	// lapsed, and the one poller here deletes each batch before its next receive, so in this rig every
	// message is delivered again only when it failed, and deleted once: the counts are exact, and a
	// duplicate would be a poller bug.
	st := p.Stats()
	if st.Succeeded != n || st.FunctionErrors != 1 || st.Failures < 2 || st.BatchSize != 4 {
		t.Errorf("stats %+v", st)
	}
}

// SQS FIFO: records carry MessageGroupId, MessageDeduplicationId and SequenceNumber; a failed message
// and the rest of its group come back, and each group is processed in order.
func TestSQSFIFOPoller(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	qc := sqs.NewFromConfig(cfg)
	name := unique("poller") + ".fifo"
	url := createQueue(t, ctx, qc, name, map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "1"})
	arn := queueARNFromURL(url)
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "fifo-consumer", EventSourceArn: arn, BatchSize: 10, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		for _, g := range []string{"a", "b"} {
			in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprintf("%s%d", g, i)), MessageGroupId: aws.String(g)}
			if g == "a" {
				in.MessageDeduplicationId = aws.String(fmt.Sprintf("dedup-%s%d", g, i))
			}
			if _, err := qc.SendMessage(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	pr := newProgress(t)
	failedA3 := false
	fn := funcInvoker(func(ctx context.Context, name string, payload []byte) (Result, error) {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, m := range ev.Records {
			seq := m.Attributes["SequenceNumber"]
			if !regexp.MustCompile(`^[0-9]{20}$`).MatchString(seq) || m.Attributes["MessageGroupId"] != m.Body[:1] || m.Attributes["MessageDeduplicationId"] == "" {
				t.Errorf("FIFO attributes %v of %s", m.Attributes, m.Body)
			}
			items = append(items, m.Body)
		}
		pr.batch(items)
		var failedIDs []string
		failing := false
		for i, m := range ev.Records {
			if m.Body == "a3" && !failedA3 {
				failedA3, failing = true, true
			}
			if failing && strings.HasPrefix(m.Body, "a") {
				failedIDs = append(failedIDs, ev.Records[i].MessageId)
				continue
			}
			pr.ok(m.Body)
		}
		return itemFailures(failedIDs...), nil
	})
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: fn, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runPoller(t, p)
	eventually(t, "every message to be processed", func() bool { return pr.count() >= 10 })

	pr.mu.Lock()
	defer pr.mu.Unlock()
	var a, b []string
	for _, it := range pr.processed {
		if it[0] == 'a' {
			a = append(a, it)
		} else {
			b = append(b, it)
		}
	}
	if strings.Join(a, ",") != "a1,a2,a3,a4,a5" || strings.Join(b, ",") != "b1,b2,b3,b4,b5" {
		t.Errorf("processed group a %v, group b %v: want each once, in order", a, b)
	}
	if !failedA3 || pr.delivered["a3"] != 2 {
		t.Errorf("a3 delivered %d times, want a retry", pr.delivered["a3"])
	}
}

// A poller feeding a real function in an Env: the helper runtime gets a well-formed SQS event.
func TestPollerInvokesAnEnvFunction(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := newRig(t, Config{})
	r.function(FunctionConfig{Name: "sqs-env-consumer"})
	qc := sqs.NewFromConfig(cfg)
	url := createQueue(t, ctx, qc, unique("poller-env"), nil)
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "sqs-env-consumer", EventSourceArn: queueARNFromURL(url), BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("hello ", i))}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: r.env, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runPoller(t, p)
	eventually(t, "the messages to be processed", func() bool { return p.Stats().Succeeded == 3 })
	if st := p.Stats(); st.Batches != 1 || st.Records != 3 {
		t.Errorf("stats %+v, want one batch of 3", st)
	}
	if got := find(r.entries(), "runtime", "invoke"); len(got) != 1 {
		t.Errorf("the runtime was invoked %d times, want 1", len(got))
	}
}

// The mapping check happens before every poll: a disabled mapping is not polled at all.
func TestPollerStartsDisabled(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kc := kinesis.NewFromConfig(cfg)
	arn := createStream(t, ctx, kc, unique("poller-disabled"), 2)
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "late-consumer", EventSourceArn: arn, Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(arn)}); err != nil ||
		aws.ToInt32(s.StreamDescriptionSummary.OpenShardCount) != 2 {
		t.Fatalf("recreated stream: %v %+v", err, s)
	}
	for i := range 6 {
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), Data: []byte{byte(i)}, PartitionKey: aws.String(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := 0
	fn := funcInvoker(func(ctx context.Context, name string, payload []byte) (Result, error) {
		var ev events.KinesisEvent
		_ = json.Unmarshal(payload, &ev)
		mu.Lock()
		got += len(ev.Records)
		mu.Unlock()
		return Result{Payload: []byte("null")}, nil
	})
	p, err := NewPoller(ctx, PollerConfig{AWS: cfg, MappingUUID: uuid, Invoker: fn, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runPoller(t, p)
	eventually(t, "polls of the disabled mapping", func() bool { return p.Stats().SkippedPolls >= 3 })
	if st := p.Stats(); st.Batches != 0 || st.Polls != 0 {
		t.Fatalf("a disabled mapping was polled: %+v", st)
	}
	if _, err := lambda.NewFromConfig(cfg).UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "all records from both shards", func() bool { mu.Lock(); defer mu.Unlock(); return got == 6 })
	_ = kinesistypes.ShardIteratorTypeLatest
}

// readStream returns every record of a one-shard stream as data@sequence, in stream order.
func readStream(ctx context.Context, t *testing.T, kc *kinesis.Client, arn string) []string {
	t.Helper()
	var out []string
	for _, r := range readShard(ctx, t, kc, arn, "shardId-000000000000") {
		out = append(out, string(r.Data)+"@"+aws.ToString(r.SequenceNumber))
	}
	return out
}

// readShard returns every record of one shard of the stream, from its start, in order.
func readShard(ctx context.Context, t *testing.T, kc *kinesis.Client, arn, shard string) []kinesistypes.Record {
	t.Helper()
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []kinesistypes.Record
	for iter := it.ShardIterator; iter != nil; {
		res, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{StreamARN: aws.String(arn), ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) == 0 {
			break
		}
		out = append(out, res.Records...)
		iter = res.NextShardIterator
	}
	return out
}
