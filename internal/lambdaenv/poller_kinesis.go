package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// kinesisSource reads every shard of a stream.
type kinesisSource struct {
	p      *Poller
	client *kinesis.Client
	arn    string
	region string
	role   string
	shards map[string]*shardState
	order  []string
	listed bool // the shards were listed once (later shards start at TRIM_HORIZON)
}

// shardState is the poller's position in one shard.
type shardState struct {
	iterator   *string
	checkpoint string // last sequence number processed
	retryAt    string // first sequence number to deliver again
	startAt    lambdatypes.EventSourcePosition
	closed     bool
}

func newKinesisSource(p *Poller, c *kinesis.Client) *kinesisSource {
	region, account, _ := arnParts(p.arn)
	return &kinesisSource{
		p: p, client: c, arn: p.arn, region: region,
		role:   fmt.Sprintf("arn:aws:iam::%s:role/%s", account, MotoRoleName),
		shards: map[string]*shardState{},
	}
}

// refreshShards adds shards that appeared since the last listing.
func (k *kinesisSource) refreshShards(ctx context.Context, m mappingState) error {
	var next *string
	for {
		in := &kinesis.ListShardsInput{StreamARN: aws.String(k.arn)}
		if next != nil {
			in = &kinesis.ListShardsInput{NextToken: next}
		}
		out, err := k.client.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("list shards: %w", err)
		}
		for _, sh := range out.Shards {
			id := aws.ToString(sh.ShardId)
			if _, ok := k.shards[id]; ok {
				continue
			}
			start := lambdatypes.EventSourcePositionTrimHorizon
			if !k.listed && m.startingPosition != "" {
				start = m.startingPosition
			}
			k.shards[id] = &shardState{startAt: start}
			k.order = append(k.order, id)
		}
		if out.NextToken == nil {
			break
		}
		next = out.NextToken
	}
	k.listed = true
	return nil
}

// iterator returns the shard's iterator, getting a new one from the checkpoint if needed.
func (k *kinesisSource) iterator(ctx context.Context, id string, st *shardState, m mappingState) (*string, error) {
	if st.iterator != nil {
		return st.iterator, nil
	}
	in := &kinesis.GetShardIteratorInput{StreamARN: aws.String(k.arn), ShardId: aws.String(id)}
	switch {
	case st.retryAt != "":
		in.ShardIteratorType, in.StartingSequenceNumber = kinesistypes.ShardIteratorTypeAtSequenceNumber, aws.String(st.retryAt)
	case st.checkpoint != "":
		in.ShardIteratorType, in.StartingSequenceNumber = kinesistypes.ShardIteratorTypeAfterSequenceNumber, aws.String(st.checkpoint)
	case st.startAt == lambdatypes.EventSourcePositionLatest:
		in.ShardIteratorType = kinesistypes.ShardIteratorTypeLatest
	case st.startAt == lambdatypes.EventSourcePositionAtTimestamp && m.startingTime != nil:
		in.ShardIteratorType, in.Timestamp = kinesistypes.ShardIteratorTypeAtTimestamp, m.startingTime
	default:
		in.ShardIteratorType = kinesistypes.ShardIteratorTypeTrimHorizon
	}
	out, err := k.client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("shard iterator for %s: %w", id, err)
	}
	st.iterator = out.ShardIterator
	return st.iterator, nil
}

// poll reads one batch from every open shard and delivers them, the shards' batches at once: Lambda
// runs one invocation per shard at a time, the shards in parallel
// (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#services-kinesis-parallelization;
// a ParallelizationFactor above 1 is not emulated).
func (k *kinesisSource) poll(ctx context.Context, m mappingState) (int, bool, error) {
	if err := k.refreshShards(ctx, m); err != nil {
		return 0, false, err
	}
	type result struct {
		delivered int
		failed    bool
		err       error
	}
	results := make([]result, len(k.order))
	var wg sync.WaitGroup
	for i, id := range k.order {
		st := k.shards[id]
		if st.closed {
			continue
		}
		wg.Go(func() {
			n, ok, err := k.pollShard(ctx, m, id, st)
			results[i] = result{delivered: n, failed: !ok, err: err}
		})
	}
	wg.Wait()
	delivered, failed := 0, false
	var errs []error
	for _, r := range results {
		delivered += r.delivered
		failed = failed || r.failed
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return delivered, failed, errors.Join(errs...)
}

// pollShard reads and delivers one batch of one shard; only its own goroutine touches st. ok is
// false when the batch failed in part or whole.
func (k *kinesisSource) pollShard(ctx context.Context, m mappingState, id string, st *shardState) (delivered int, ok bool, err error) {
	it, err := k.iterator(ctx, id, st, m)
	if err != nil {
		return 0, true, err
	}
	out, err := k.client.GetRecords(ctx, &kinesis.GetRecordsInput{StreamARN: aws.String(k.arn), ShardIterator: it, Limit: aws.Int32(int32(min(m.batchSize, 10000)))})
	var expired *kinesistypes.ExpiredIteratorException
	if errors.As(err, &expired) {
		st.iterator = nil
		return 0, true, nil
	}
	if err != nil {
		return 0, true, fmt.Errorf("get records from %s: %w", id, err)
	}
	recs := out.Records
	if len(recs) == 0 {
		st.iterator = out.NextShardIterator
		st.closed = out.NextShardIterator == nil
		return 0, true, nil
	}
	payload, err := json.Marshal(k.event(id, recs))
	if err != nil {
		return 0, true, fmt.Errorf("encode Kinesis event: %w", err)
	}
	seqs := make([]string, len(recs))
	for i, r := range recs {
		seqs[i] = aws.ToString(r.SequenceNumber)
	}
	oc := k.p.deliver(ctx, m, payload, len(recs), func(id string) bool { return slices.Contains(seqs, id) })
	return len(recs), k.settle(st, seqs, out.NextShardIterator, oc), nil
}

// settle moves the shard's checkpoint after a batch and reports whether it fully succeeded.
func (k *kinesisSource) settle(st *shardState, seqs []string, next *string, oc outcome) bool {
	first := len(seqs) // index of the first record to deliver again
	if oc.failedAll {
		first = 0
	}
	for _, id := range oc.failedIDs {
		first = min(first, slices.Index(seqs, id))
	}
	if first > 0 {
		st.checkpoint = seqs[first-1]
	}
	k.p.count(func(s *PollerStats) { s.Succeeded += int64(first); s.Failures += int64(len(seqs) - first) })
	if first == len(seqs) {
		st.retryAt = ""
		st.iterator = next
		st.closed = next == nil
		return true
	}
	st.retryAt = seqs[first]
	st.iterator = nil
	return false
}

// event builds the Kinesis event Lambda sends for a batch of one shard.
func (k *kinesisSource) event(shardID string, recs []kinesistypes.Record) events.KinesisEvent {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(recs))}
	for i, r := range recs {
		arrival := time.Now()
		if r.ApproximateArrivalTimestamp != nil {
			arrival = *r.ApproximateArrivalTimestamp
		}
		kr := events.KinesisRecord{
			ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: arrival},
			Data:                        r.Data,
			PartitionKey:                aws.ToString(r.PartitionKey),
			SequenceNumber:              aws.ToString(r.SequenceNumber),
			KinesisSchemaVersion:        "1.0",
		}
		if r.EncryptionType != "" && r.EncryptionType != kinesistypes.EncryptionTypeNone {
			kr.EncryptionType = string(r.EncryptionType)
		}
		ev.Records[i] = events.KinesisEventRecord{
			AwsRegion:         k.region,
			EventID:           shardID + ":" + aws.ToString(r.SequenceNumber),
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    k.arn,
			EventVersion:      "1.0",
			InvokeIdentityArn: k.role,
			Kinesis:           kr,
		}
	}
	return ev
}
