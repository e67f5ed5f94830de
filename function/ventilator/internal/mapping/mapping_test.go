package mapping_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var seq atomic.Int64

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// counting wraps the Lambda client and counts the calls that change a mapping.
type counting struct {
	*lambda.Client
	updates atomic.Int32
	gets    atomic.Int32
}

func (c *counting) UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, opts ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error) {
	c.updates.Add(1)
	return c.Client.UpdateEventSourceMapping(ctx, in, opts...)
}

func (c *counting) GetEventSourceMapping(ctx context.Context, in *lambda.GetEventSourceMappingInput, opts ...func(*lambda.Options)) (*lambda.GetEventSourceMappingOutput, error) {
	c.gets.Add(1)
	return c.Client.GetEventSourceMapping(ctx, in, opts...)
}

// newStreamMapping creates a Kinesis stream, a function record and their mapping in moto.
func newStreamMapping(t *testing.T) (uuid, function, arn string) {
	t.Helper()
	ctx := ctxT(t)
	cfg := mototest.Shared(t).AWSConfig()
	n := seq.Add(1)
	stream := fmt.Sprintf("mapping-test-%d", n)
	kc := kinesis.NewFromConfig(cfg)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	sum, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	arn = aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	function = fmt.Sprintf("ventilator-%d", n)
	uuid, err = lambdaenv.CreateMapping(ctx, cfg, lambdaenv.MappingInput{FunctionName: function, EventSourceArn: arn, BatchSize: 1, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	return uuid, function, arn
}

func getMapping(t *testing.T, uuid string) *lambda.GetEventSourceMappingOutput {
	t.Helper()
	out, err := lambda.NewFromConfig(mototest.Shared(t).AWSConfig()).GetEventSourceMapping(ctxT(t), &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBatchSizeChangeIsVisibleThroughGetEventSourceMapping(t *testing.T) {
	uuid, _, arn := newStreamMapping(t)
	api := &counting{Client: lambda.NewFromConfig(mototest.Shared(t).AWSConfig())}
	m := mapping.New(api, mapping.Locator{UUID: uuid}, mapping.Options{Timeout: 20 * time.Second})
	ctx := ctxT(t)

	c, err := m.Get(ctx)
	if err != nil || c.UUID != uuid || c.BatchSize != 1 || !c.Enabled || c.EventSourceARN != arn {
		t.Fatalf("Get = %+v, %v", c, err)
	}
	a, err := m.Apply(ctx, mapping.Want{BatchSize: 7, Enabled: mapping.Enable}, true)
	if err != nil || !a.Changed || a.Before.BatchSize != 1 || a.After.BatchSize != 7 || a.Attempts != 1 {
		t.Fatalf("Apply 7 = %+v, %v", a, err)
	}
	if got := aws.ToInt32(getMapping(t, uuid).BatchSize); got != 7 {
		t.Fatalf("GetEventSourceMapping shows batch size %d, want 7", got)
	}

	// The same again is no call at all while the cached view is fresh, and a read but no update
	// when asked to look afresh.
	gets := api.gets.Load()
	if a, err := m.Apply(ctx, mapping.Want{BatchSize: 7, Enabled: mapping.Enable}, false); err != nil || a.Changed || api.gets.Load() != gets {
		t.Fatalf("Apply of the same = %+v, %v (%d reads)", a, err, api.gets.Load()-gets)
	}
	if a, err := m.Apply(ctx, mapping.Want{BatchSize: 7, Enabled: mapping.Enable}, true); err != nil || a.Changed || api.gets.Load() != gets+1 {
		t.Fatalf("fresh Apply of the same = %+v, %v", a, err)
	}
	if n := api.updates.Load(); n != 1 {
		t.Fatalf("%d UpdateEventSourceMapping calls, want 1", n)
	}

	// Disable at batch size 1, then enable again.
	if a, err := m.Apply(ctx, mapping.Want{BatchSize: 1, Enabled: mapping.Disable}, true); err != nil || !a.Changed {
		t.Fatalf("disable = %+v, %v", a, err)
	}
	got := getMapping(t, uuid)
	if aws.ToInt32(got.BatchSize) != 1 || !strings.EqualFold(aws.ToString(got.State), "Disabled") {
		t.Fatalf("after disabling: batch size %d, state %s", aws.ToInt32(got.BatchSize), aws.ToString(got.State))
	}
	if a, err := m.Apply(ctx, mapping.Want{Enabled: mapping.Enable}, true); err != nil || !a.Changed || a.After.BatchSize != 1 {
		t.Fatalf("enable keeping the batch size = %+v, %v", a, err)
	}
	if st := aws.ToString(getMapping(t, uuid).State); !strings.EqualFold(st, "Enabled") {
		t.Fatalf("after enabling: state %s", st)
	}
}

func TestFindByFunctionAndSource(t *testing.T) {
	uuid, function, arn := newStreamMapping(t)
	api := lambda.NewFromConfig(mototest.Shared(t).AWSConfig())
	m := mapping.New(api, mapping.Locator{FunctionName: function, EventSourceARN: arn}, mapping.Options{Timeout: 20 * time.Second})
	got, err := m.UUID(ctxT(t))
	if err != nil || got != uuid {
		t.Fatalf("UUID = %q, %v; want %q", got, err, uuid)
	}

	none := mapping.New(api, mapping.Locator{FunctionName: function + "-other", EventSourceARN: arn}, mapping.Options{Timeout: 20 * time.Second})
	if _, err := none.Get(ctxT(t)); err == nil || !strings.Contains(err.Error(), "list mappings") && !strings.Contains(err.Error(), "has no event source mapping") {
		t.Fatalf("a function without a mapping: %v", err)
	}
}

func TestSQSBatchSizeIsClamped(t *testing.T) {
	ctx := ctxT(t)
	cfg := mototest.Shared(t).AWSConfig()
	n := seq.Add(1)
	qc := sqs.NewFromConfig(cfg)
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("mapping-test-%d.fifo", n)), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	uuid, err := lambdaenv.CreateMapping(ctx, cfg, lambdaenv.MappingInput{FunctionName: fmt.Sprintf("ventilator-%d", n), EventSourceArn: attrs.Attributes["QueueArn"], BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	m := mapping.New(lambda.NewFromConfig(cfg), mapping.Locator{UUID: uuid}, mapping.Options{Timeout: 20 * time.Second})
	a, err := m.Apply(ctx, mapping.Want{BatchSize: 50, Enabled: mapping.Enable}, true)
	if err != nil || !a.Clamped || a.After.BatchSize != 10 {
		t.Fatalf("Apply 50 on a FIFO queue = %+v, %v; want clamped to 10", a, err)
	}
	if got := aws.ToInt32(getMapping(t, uuid).BatchSize); got != 10 {
		t.Fatalf("batch size %d, want 10", got)
	}
}

func TestUnknownUUIDIsAnError(t *testing.T) {
	m := mapping.New(lambda.NewFromConfig(mototest.Shared(t).AWSConfig()), mapping.Locator{UUID: "00000000-0000-0000-0000-000000000000"}, mapping.Options{Timeout: 20 * time.Second})
	_, err := m.Apply(ctxT(t), mapping.Want{BatchSize: 2, Enabled: mapping.Enable}, false)
	if err == nil || !strings.Contains(err.Error(), "mapping: get 00000000") {
		t.Fatalf("Apply on an unknown mapping = %v", err)
	}
	if errors.Unwrap(err) == nil {
		t.Error("the API error is not wrapped")
	}
}
