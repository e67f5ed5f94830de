package check_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// TestTransitionReachesSQSThroughEventBridge: the checker's publish travels the real path on moto:
// PutEvents on a bus, a rule matching source = breakerbox, an SQS queue as its target. The message
// carries the documented detail-type, source and detail.
func TestTransitionReachesSQSThroughEventBridge(t *testing.T) {
	ctx := ctxT(t)
	cfg := mototest.Shared(t).AWSConfig()
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	n := tableSeq.Add(1)
	bus := fmt.Sprintf("breakerbox-test-bus-%d", n)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("transitions-%d", n))})
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
		Name: aws.String("breakerbox-to-sqs"), EventBusName: aws.String(bus), EventPattern: aws.String(`{"source":["breakerbox"]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("breakerbox-to-sqs"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}},
	}); err != nil {
		t.Fatal(err)
	}

	st, _ := newTable(t)
	h, err := check.New(st, events.NewPublisher(eb, events.Options{Bus: bus, Timeout: 10 * time.Second}),
		check.Config{Policy: circuit.DefaultPolicy(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	svc := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	in := json.RawMessage(target("payments", svc.URL, ""))
	var sum check.Summary
	for i := 0; i < 3; i++ {
		if sum, err = h.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if sum.Transitions != 1 || sum.PublishFailures != 0 {
		t.Fatalf("summary %+v", sum)
	}
	want := sum.Targets[0].Transitions[0]

	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages on the queue, want 1", len(out.Messages))
	}
	var ev struct {
		Source     string        `json:"source"`
		DetailType string        `json:"detail-type"`
		Detail     events.Detail `json:"detail"`
	}
	body := aws.ToString(out.Messages[0].Body)
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("message %s: %v", body, err)
	}
	if ev.Source != "breakerbox" || ev.DetailType != "Circuit State Change" || ev.Detail != want {
		t.Fatalf("event %s\nwant source breakerbox, detail-type Circuit State Change, detail %+v", body, want)
	}
	if ev.Detail.ID != "payments" || ev.Detail.From != "CLOSED" || ev.Detail.To != "OPEN" || ev.Detail.Version != 3 {
		t.Fatalf("detail %+v", ev.Detail)
	}
	if _, err := time.Parse(time.RFC3339, ev.Detail.At); err != nil {
		t.Fatalf("detail.at %q is not RFC 3339: %v", ev.Detail.At, err)
	}
	var raw map[string]map[string]any
	json.Unmarshal([]byte(body), &raw)
	if len(raw["detail"]) != 6 {
		t.Fatalf("detail has fields %v, want exactly id, from, to, reason, at, version", raw["detail"])
	}
}
