package lambdaenv

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsSource reads a standard or FIFO queue.
type sqsSource struct {
	p      *Poller
	client *sqs.Client
	arn    string
	url    string
	region string
	fifo   bool
	// seq numbers FIFO messages that moto returns without a SequenceNumber (it sets one only when
	// the sender gave an explicit MessageDeduplicationId); keyed by message id, increasing.
	seqMu   sync.Mutex // seq and nextSeq: concurrent polls of a standard queue delete messages
	seq     map[string]string
	nextSeq uint64
	// visibility is the queue's visibility timeout; failed FIFO messages are made visible again
	// explicitly once it has passed (see releaseFailed).
	visibility time.Duration
	failed     []failedMessage
}

// failedMessage is a FIFO message left in the queue after a failure.
type failedMessage struct {
	receipt   *string
	visibleAt time.Time
}

func newSQSSource(ctx context.Context, p *Poller, c *sqs.Client) (*sqsSource, error) {
	url, err := queueURL(ctx, c, p.arn)
	if err != nil {
		return nil, err
	}
	region, _, name := arnParts(p.arn)
	q := &sqsSource{p: p, client: c, arn: p.arn, url: url, region: region, fifo: strings.HasSuffix(name, ".fifo"), seq: map[string]string{}, visibility: 30 * time.Second}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout}})
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: queue %s: %w", p.arn, err)
	}
	if v, err := strconv.Atoi(attrs.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)]); err == nil {
		q.visibility = time.Duration(v) * time.Second
	}
	return q, nil
}

// releaseFailed makes failed FIFO messages whose visibility timeout has passed visible again, all
// at once and in order, before the receive that could see them. moto otherwise redelivers several failed messages of one group out of order:
// it drops re-visible messages from its in-flight set one by one while scanning, so the group's last
// message is the first one it finds unblocked.
func (q *sqsSource) releaseFailed(ctx context.Context) {
	now := time.Now()
	keep := q.failed[:0]
	for _, f := range q.failed {
		if now.Before(f.visibleAt) {
			keep = append(keep, f)
			continue
		}
		// An error means the message was deleted or received again meanwhile: nothing to release.
		_, _ = q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q.url), ReceiptHandle: f.receipt, VisibilityTimeout: 0})
	}
	q.failed = keep
}

func (q *sqsSource) poll(ctx context.Context, m mappingState) (int, bool, error) {
	if q.fifo {
		q.releaseFailed(ctx)
	}
	receivedAt := time.Now() // no later than moto's receive time, so no later than it re-shows them
	var msgs []sqstypes.Message
	for len(msgs) < m.batchSize {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.url),
			MaxNumberOfMessages:         int32(min(10, m.batchSize-len(msgs))),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if len(msgs) == 0 {
				return 0, false, fmt.Errorf("receive messages: %w", err)
			}
			q.p.log.Warn("receive messages", "error", err.Error())
			break
		}
		if len(out.Messages) == 0 {
			break
		}
		msgs = append(msgs, out.Messages...)
	}
	if len(msgs) == 0 {
		return 0, false, nil
	}
	payload, err := json.Marshal(q.event(msgs))
	if err != nil {
		return 0, false, fmt.Errorf("encode SQS event: %w", err)
	}
	ids := map[string]bool{}
	for _, msg := range msgs {
		ids[aws.ToString(msg.MessageId)] = true
	}
	oc := q.p.deliver(ctx, m, payload, len(msgs), func(id string) bool { return ids[id] })
	failed := map[string]bool{}
	for _, id := range oc.failedIDs {
		failed[id] = true
	}
	var done []sqstypes.Message
	for _, msg := range msgs {
		if !oc.failedAll && !failed[aws.ToString(msg.MessageId)] {
			done = append(done, msg)
		} else if q.fifo {
			// Held past the queue's visibility timeout, so that moto's own lapse (which re-shows a
			// group's failed messages one by one, last first) never comes before releaseFailed shows
			// them all at once, in order, when the timeout would have lapsed.
			hold := int32((q.visibility + time.Minute) / time.Second)
			_, _ = q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q.url), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: hold})
			q.failed = append(q.failed, failedMessage{receipt: msg.ReceiptHandle, visibleAt: receivedAt.Add(q.visibility)})
		}
	}
	q.p.count(func(s *PollerStats) { s.Failures += int64(len(msgs) - len(done)) })
	if err := q.delete(ctx, done); err != nil {
		return len(msgs), true, err
	}
	q.p.count(func(s *PollerStats) { s.Succeeded += int64(len(done)) })
	return len(msgs), len(done) < len(msgs), nil
}

// delete removes processed messages, ten at a time.
func (q *sqsSource) delete(ctx context.Context, msgs []sqstypes.Message) error {
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, n)
		for i, msg := range msgs[:n] {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle}
			q.seqMu.Lock()
			delete(q.seq, aws.ToString(msg.MessageId))
			q.seqMu.Unlock()
		}
		out, err := q.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("delete messages: %w", err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("delete messages: %d failed, first: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
		}
		msgs = msgs[n:]
	}
	return nil
}

// event builds the SQS event Lambda sends for a batch.
func (q *sqsSource) event(msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, msg := range msgs {
		attrs := map[string]string{}
		for k, v := range msg.Attributes {
			attrs[k] = v
		}
		if q.fifo && attrs["SequenceNumber"] == "" {
			attrs["SequenceNumber"] = q.sequenceNumber(aws.ToString(msg.MessageId))
		}
		mattrs := map[string]events.SQSMessageAttribute{}
		for k, v := range msg.MessageAttributes {
			mattrs[k] = events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: nonNil(v.StringListValues),
				BinaryListValues: nonNil(v.BinaryListValues),
				DataType:         aws.ToString(v.DataType),
			}
		}
		ev.Records[i] = events.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             attrs,
			MessageAttributes:      mattrs,
			EventSourceARN:         q.arn,
			EventSource:            "aws:sqs",
			AWSRegion:              q.region,
		}
	}
	return ev
}

// sequenceNumber returns the message's stand-in FIFO sequence number (20 digits, increasing).
func (q *sqsSource) sequenceNumber(id string) string {
	q.seqMu.Lock()
	defer q.seqMu.Unlock()
	if s, ok := q.seq[id]; ok {
		return s
	}
	q.nextSeq++
	s := fmt.Sprintf("%020d", uint64(18_000_000_000_000_000_000)+q.nextSeq)
	q.seq[id] = s
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
