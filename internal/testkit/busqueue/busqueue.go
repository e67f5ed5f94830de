// Package busqueue is a test rig for breakerbox's events: an EventBridge bus whose rule on the
// Circuit State Change events delivers them to an SQS queue, as a subscriber would set it up.
package busqueue

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/internal/events"
)

// Pattern is the rule's event pattern: breakerbox's state-change events.
const Pattern = `{"source":["breakerbox"],"detail-type":["Circuit State Change"]}`

// BusQueue is a bus and the queue its rule delivers to.
type BusQueue struct {
	// Bus is the event bus's name.
	Bus string
	// EventBridge is the client the bus was made with, for publishers under test.
	EventBridge *eventbridge.Client
	sqs         *sqs.Client
	url         *string
}

// New creates the bus named bus, the queue named queue and the rule between them, failing tb on any
// error.
func New(ctx context.Context, tb testing.TB, cfg aws.Config, bus, queue string) *BusQueue {
	tb.Helper()
	b := &BusQueue{Bus: bus, EventBridge: eventbridge.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
	if _, err := b.EventBridge.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		tb.Fatalf("create bus %s: %v", bus, err)
	}
	q, err := b.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue)})
	if err != nil {
		tb.Fatalf("create queue %s: %v", queue, err)
	}
	b.url = q.QueueUrl
	attrs, err := b.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		tb.Fatalf("queue %s attributes: %v", queue, err)
	}
	const rule = "breakerbox-to-sqs"
	if _, err := b.EventBridge.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(Pattern),
	}); err != nil {
		tb.Fatalf("put rule on %s: %v", bus, err)
	}
	if _, err := b.EventBridge.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(rule), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}},
	}); err != nil {
		tb.Fatalf("put the queue as the rule's target: %v", err)
	}
	return b
}

// Receive polls the queue until at least n messages arrived, failing tb if they have not within
// d (size d for a loaded machine: it is only reached on a failure). It then polls once more, so
// that a duplicate delivered just after shows among the messages returned.
func (b *BusQueue) Receive(ctx context.Context, tb testing.TB, n int, d time.Duration) []sqstypes.Message {
	tb.Helper()
	var msgs []sqstypes.Message
	deadline := time.Now().Add(d)
	for len(msgs) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d messages on the queue after %v, want %d", len(msgs), d, n)
		}
		msgs = append(msgs, b.receive(ctx, tb, 1)...)
	}
	return append(msgs, b.receive(ctx, tb, 2)...)
}

func (b *BusQueue) receive(ctx context.Context, tb testing.TB, wait int32) []sqstypes.Message {
	tb.Helper()
	out, err := b.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: b.url, WaitTimeSeconds: wait, MaxNumberOfMessages: 10})
	if err != nil {
		tb.Fatalf("receive: %v", err)
	}
	return out.Messages
}

// Event is a message's EventBridge envelope, as far as breakerbox documents it.
type Event struct {
	// Source is the event's source (events.Source for breakerbox's).
	Source string `json:"source"`
	// DetailType is its detail-type (events.DetailType for a state change).
	DetailType string `json:"detail-type"`
	// Detail is the state change it carries.
	Detail events.Detail `json:"detail"`
}

// Decode reads the event in m's body, failing tb if it is not one.
func Decode(tb testing.TB, m sqstypes.Message) Event {
	tb.Helper()
	var ev Event
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
		tb.Fatalf("message %s: %v", aws.ToString(m.Body), err)
	}
	return ev
}
