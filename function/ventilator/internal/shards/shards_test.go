package shards_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/shards"
)

type fakeKinesis struct {
	open  int32
	err   error
	calls int
}

func (f *fakeKinesis) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{OpenShardCount: aws.Int32(f.open)}}, nil
}

type fakeMapping struct{ factor int }

func (f fakeMapping) Get(context.Context) (mapping.Config, error) {
	return mapping.Config{ParallelizationFactor: f.factor}, nil
}

// Pollers is open shards × parallelization factor, remembered for the TTL; on an error the last
// answer stands.
func TestPollers(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	k := &fakeKinesis{open: 3}
	c := shards.New(k, fakeMapping{factor: 2}, time.Minute, time.Second, func() time.Time { return now })
	ctx := context.Background()
	if n, err := c.Pollers(ctx, "arn"); n != 6 || err != nil {
		t.Fatalf("Pollers = %d, %v; want 6", n, err)
	}
	k.open = 4
	if n, _ := c.Pollers(ctx, "arn"); n != 6 || k.calls != 1 {
		t.Fatalf("within the TTL: %d after %d calls; want the remembered 6 after 1", n, k.calls)
	}
	now = now.Add(2 * time.Minute)
	k.err = errors.New("throttled")
	if n, err := c.Pollers(ctx, "arn"); n != 6 || err == nil {
		t.Fatalf("on an error: %d, %v; want the last answer and the error", n, err)
	}
	k.err = nil
	if n, err := c.Pollers(ctx, "arn"); n != 8 || err != nil {
		t.Fatalf("after the TTL: %d, %v; want 8", n, err)
	}
	if n, _ := shards.New(&fakeKinesis{open: 1}, fakeMapping{}, 0, 0, nil).Pollers(ctx, "arn"); n != 1 {
		t.Fatalf("one shard, no factor: %d, want 1", n)
	}
}
