package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// TestExtensionTripReachesSQSThroughEventBridge: a trip made by the extension (three failures in a
// row under low traffic) is published once to the configured bus, and a rule on source breakerbox
// delivers it to an SQS queue, with the documented source, detail-type and detail.
func TestExtensionTripReachesSQSThroughEventBridge(t *testing.T) {
	ctx := ctxE2E(t)
	cfg := mototest.Shared(t).AWSConfig()
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	n := tableSeq.Add(1)
	bus := fmt.Sprintf("e2e-bus-%d", n)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("e2e-transitions-%d", n))})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("breakerbox-to-sqs"), EventBusName: aws.String(bus), EventPattern: aws.String(`{"source":["breakerbox"],"detail-type":["Circuit State Change"]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("breakerbox-to-sqs"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}},
	}); err != nil {
		t.Fatal(err)
	}

	r := newRig(t, rigOptions{MaxConcurrency: 1, Env: []string{"BREAKERBOX_EVENT_BUS=" + bus}})
	r.put(circuit.Circuit{ID: "payments", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})
	r.invoke(call("payments", 0, 3)...)
	var c circuit.Circuit
	waitFor(t, 2*time.Minute, "the extension to trip the circuit", func() bool {
		c, err = r.get("payments")
		return err == nil && c.State == circuit.Open
	})

	var msgs []sqstypes.Message
	waitFor(t, 2*time.Minute, "the event on the queue", func() bool {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, out.Messages...)
		return len(msgs) > 0
	})
	// Nothing else arrives: the transition was published once.
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, out.Messages...)
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the queue, want exactly 1", len(msgs))
	}
	var ev struct {
		Source     string        `json:"source"`
		DetailType string        `json:"detail-type"`
		Detail     events.Detail `json:"detail"`
	}
	body := aws.ToString(msgs[0].Body)
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("message %s: %v", body, err)
	}
	d := ev.Detail
	if ev.Source != "breakerbox" || ev.DetailType != "Circuit State Change" || d.ID != "payments" || d.From != "CLOSED" || d.To != "OPEN" ||
		d.Version != c.Version || d.Reason != c.Reason {
		t.Fatalf("event %s\nwant the trip to version %d: %q", body, c.Version, c.Reason)
	}
	if c.Unpublished != nil {
		t.Fatalf("outbox %+v after a good publish", c.Unpublished)
	}
}
