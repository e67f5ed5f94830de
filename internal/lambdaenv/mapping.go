package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MappingInput describes an event source mapping to create in moto.
type MappingInput struct {
	// FunctionName is the function (registered in moto by CreateMapping if needed).
	FunctionName string
	// EventSourceArn is the Kinesis stream or SQS queue; it must exist and be empty.
	EventSourceArn string
	// BatchSize is the mapping's batch size; 0 means the service default (100 Kinesis, 10 SQS).
	BatchSize int32
	// StartingPosition applies to Kinesis; default TRIM_HORIZON.
	StartingPosition lambdatypes.EventSourcePosition
	// ReportBatchItemFailures sets FunctionResponseTypes to ["ReportBatchItemFailures"].
	ReportBatchItemFailures bool
	// Disabled creates the mapping disabled.
	Disabled bool
}

// CreateMapping creates an event source mapping in moto (registering the function there first, see
// RegisterInMoto) and returns its UUID, for a Poller to emulate.
//
// moto has its own idea of delivering to mappings: on every SendMessage to a mapped queue it
// receives messages and tries to run the function in Docker (bumping ApproximateReceiveCount, and
// deleting the messages if such a run succeeds), and on every Kinesis PutRecord it tries to run the
// function too. CreateMapping detaches that delivery by recreating the (empty) queue or stream with
// the same name, attributes and tags right after creating the mapping: the ARN and URL stay the
// same, the mapping stays in moto's Lambda API, and only the Poller delivers. That is why the
// source must be empty: create mappings before sending records.
func CreateMapping(ctx context.Context, cfg aws.Config, in MappingInput) (string, error) {
	if in.FunctionName == "" || in.EventSourceArn == "" {
		return "", errors.New("lambdaenv: CreateMapping needs FunctionName and EventSourceArn")
	}
	service, err := sourceService(in.EventSourceArn)
	if err != nil {
		return "", err
	}
	if _, err := RegisterInMoto(ctx, cfg, in.FunctionName); err != nil {
		return "", err
	}
	if err := checkEmpty(ctx, cfg, service, in.EventSourceArn); err != nil {
		return "", err
	}
	input := &lambda.CreateEventSourceMappingInput{
		FunctionName:   aws.String(in.FunctionName),
		EventSourceArn: aws.String(in.EventSourceArn),
		Enabled:        aws.Bool(!in.Disabled),
	}
	if in.BatchSize > 0 {
		input.BatchSize = aws.Int32(in.BatchSize)
	}
	if service == "kinesis" {
		input.StartingPosition = in.StartingPosition
		if input.StartingPosition == "" {
			input.StartingPosition = lambdatypes.EventSourcePositionTrimHorizon
		}
	}
	if in.ReportBatchItemFailures {
		input.FunctionResponseTypes = []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}
	}
	out, err := lambda.NewFromConfig(cfg).CreateEventSourceMapping(ctx, input)
	if err != nil {
		return "", fmt.Errorf("lambdaenv: create event source mapping %s -> %s in moto: %w", in.EventSourceArn, in.FunctionName, err)
	}
	uuid := aws.ToString(out.UUID)
	if service == "kinesis" {
		err = recreateStream(ctx, kinesis.NewFromConfig(cfg), in.EventSourceArn)
	} else {
		err = recreateQueue(ctx, sqs.NewFromConfig(cfg), in.EventSourceArn)
	}
	if err != nil {
		return "", fmt.Errorf("lambdaenv: detach moto's own delivery for mapping %s: %w", uuid, err)
	}
	return uuid, nil
}

// sourceService returns "kinesis" or "sqs" for an event source ARN.
func sourceService(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		switch parts[2] {
		case "kinesis":
			if strings.HasPrefix(parts[5], "stream/") {
				return "kinesis", nil
			}
		case "sqs":
			return "sqs", nil
		}
	}
	return "", fmt.Errorf("lambdaenv: event source %q: want a Kinesis stream or SQS queue ARN", arn)
}

// arnParts returns an ARN's region, account and resource.
func arnParts(arn string) (region, account, resource string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", "", ""
	}
	return parts[3], parts[4], parts[5]
}

// checkEmpty refuses a source that already holds records (CreateMapping recreates it).
func checkEmpty(ctx context.Context, cfg aws.Config, service, arn string) error {
	if service == "sqs" {
		c := sqs.NewFromConfig(cfg)
		url, err := queueURL(ctx, c, arn)
		if err != nil {
			return err
		}
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		}})
		if err != nil {
			return fmt.Errorf("lambdaenv: queue %s: %w", arn, err)
		}
		for _, v := range out.Attributes {
			if n, _ := strconv.Atoi(v); n > 0 {
				return fmt.Errorf("lambdaenv: queue %s already holds messages: create its mapping before sending any", arn)
			}
		}
		return nil
	}
	c := kinesis.NewFromConfig(cfg)
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("lambdaenv: stream %s: %w", arn, err)
	}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return fmt.Errorf("lambdaenv: stream %s: %w", arn, err)
		}
		recs, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{StreamARN: aws.String(arn), ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
		if err != nil {
			return fmt.Errorf("lambdaenv: stream %s: %w", arn, err)
		}
		if len(recs.Records) > 0 {
			return fmt.Errorf("lambdaenv: stream %s already holds records: create its mapping before putting any", arn)
		}
	}
	return nil
}

// queueURL finds a queue's URL from its ARN.
func queueURL(ctx context.Context, c *sqs.Client, arn string) (string, error) {
	_, account, name := arnParts(arn)
	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name), QueueOwnerAWSAccountId: aws.String(account)})
	if err != nil {
		return "", fmt.Errorf("lambdaenv: queue %s: %w", arn, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// settableQueueAttributes are the attributes CreateQueue accepts.
func settableQueueAttributes() []sqstypes.QueueAttributeName {
	return []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameDelaySeconds, sqstypes.QueueAttributeNameMaximumMessageSize, sqstypes.QueueAttributeNameMessageRetentionPeriod,
		sqstypes.QueueAttributeNamePolicy, sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds, sqstypes.QueueAttributeNameRedrivePolicy,
		sqstypes.QueueAttributeNameRedriveAllowPolicy, sqstypes.QueueAttributeNameVisibilityTimeout, sqstypes.QueueAttributeNameKmsMasterKeyId,
		sqstypes.QueueAttributeNameKmsDataKeyReusePeriodSeconds, sqstypes.QueueAttributeNameSqsManagedSseEnabled, sqstypes.QueueAttributeNameFifoQueue,
		sqstypes.QueueAttributeNameContentBasedDeduplication, sqstypes.QueueAttributeNameDeduplicationScope, sqstypes.QueueAttributeNameFifoThroughputLimit,
	}
}

// recreateQueue deletes and recreates a queue with the same name, attributes and tags.
func recreateQueue(ctx context.Context, c *sqs.Client, arn string) error {
	url, err := queueURL(ctx, c, arn)
	if err != nil {
		return err
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return fmt.Errorf("queue attributes: %w", err)
	}
	keep := map[string]string{}
	for _, name := range settableQueueAttributes() {
		if v, ok := attrs.Attributes[string(name)]; ok && v != "" {
			keep[string(name)] = v
		}
	}
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
	if err != nil {
		return fmt.Errorf("queue tags: %w", err)
	}
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		return fmt.Errorf("delete queue: %w", err)
	}
	_, _, name := arnParts(arn)
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: keep, Tags: tags.Tags}); err != nil {
		return fmt.Errorf("recreate queue: %w", err)
	}
	return nil
}

// recreateStream deletes and recreates a stream with the same name, capacity mode, shard count,
// retention and tags.
func recreateStream(ctx context.Context, c *kinesis.Client, arn string) error {
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("describe stream: %w", err)
	}
	d := sum.StreamDescriptionSummary
	tags, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamARN: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("stream tags: %w", err)
	}
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String(arn), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		return fmt.Errorf("delete stream: %w", err)
	}
	in := &kinesis.CreateStreamInput{StreamName: d.StreamName, StreamModeDetails: d.StreamModeDetails}
	if d.StreamModeDetails == nil || d.StreamModeDetails.StreamMode != kinesistypes.StreamModeOnDemand {
		in.ShardCount = d.OpenShardCount
	}
	if _, err := c.CreateStream(ctx, in); err != nil {
		return fmt.Errorf("recreate stream: %w", err)
	}
	for start := time.Now(); ; {
		s, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(arn)})
		if err == nil && s.StreamDescriptionSummary.StreamStatus == kinesistypes.StreamStatusActive {
			break
		}
		if time.Since(start) > 30*time.Second {
			return fmt.Errorf("recreated stream %s is not ACTIVE after 30s", arn)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if h := aws.ToInt32(d.RetentionPeriodHours); h > 24 {
		if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamARN: aws.String(arn), RetentionPeriodHours: aws.Int32(h)}); err != nil {
			return fmt.Errorf("stream retention: %w", err)
		}
	}
	if len(tags.Tags) > 0 {
		m := map[string]string{}
		for _, t := range tags.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if _, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamARN: aws.String(arn), Tags: m}); err != nil {
			return fmt.Errorf("stream tags: %w", err)
		}
	}
	return nil
}
