package mapping_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// On SQS, MaximumConcurrency is set through ScalingConfig, clamped to 2-1000, only when it changes,
// and read back; on Kinesis it is ignored.
func TestSQSMaximumConcurrency(t *testing.T) {
	ctx := ctxT(t)
	cfg := mototest.Shared(t).AWSConfig()
	n := seq.Add(1)
	qc := sqs.NewFromConfig(cfg)
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("scaling-test-%d", n))})
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
	api := &counting{Client: lambda.NewFromConfig(cfg)}
	m := mapping.New(api, mapping.Locator{UUID: uuid}, mapping.Options{Timeout: 20 * time.Second})
	a, err := m.Apply(ctx, mapping.Want{BatchSize: 4, MaximumConcurrency: 5}, true)
	if err != nil || a.After.MaximumConcurrency != 5 || a.Clamped || !a.Changed {
		t.Fatalf("Apply concurrency 5 = %+v, %v", a, err)
	}
	if got := getMapping(t, uuid).ScalingConfig; got == nil || aws.ToInt32(got.MaximumConcurrency) != 5 {
		t.Fatalf("ScalingConfig %+v, want MaximumConcurrency 5", got)
	}
	updates := api.updates.Load()
	if a, err := m.Apply(ctx, mapping.Want{BatchSize: 4, MaximumConcurrency: 5}, true); err != nil || a.Changed || api.updates.Load() != updates {
		t.Fatalf("unchanged Apply = %+v, %v (%d updates); want no update", a, err, api.updates.Load()-updates)
	}
	if a, err := m.Apply(ctx, mapping.Want{MaximumConcurrency: 1}, true); err != nil || !a.Clamped || a.After.MaximumConcurrency != 2 {
		t.Fatalf("Apply concurrency 1 = %+v, %v; want clamped to 2", a, err)
	}
	if got := getMapping(t, uuid).ScalingConfig; aws.ToInt32(got.MaximumConcurrency) != 2 {
		t.Fatalf("ScalingConfig %+v, want MaximumConcurrency 2", got)
	}

	kuuid, _, _ := newStreamMapping(t)
	km := mapping.New(lambda.NewFromConfig(cfg), mapping.Locator{UUID: kuuid}, mapping.Options{Timeout: 20 * time.Second})
	if a, err := km.Apply(ctx, mapping.Want{MaximumConcurrency: 7}, true); err != nil || a.Changed || getMapping(t, kuuid).ScalingConfig != nil {
		t.Fatalf("Kinesis Apply with a MaximumConcurrency = %+v, %v; want it ignored", a, err)
	}
}
