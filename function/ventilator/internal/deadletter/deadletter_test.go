package deadletter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var seq atomic.Int64

func TestSend(t *testing.T) {
	for _, suffix := range []string{"", ".fifo"} {
		t.Run("queue"+suffix, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c := sqs.NewFromConfig(mototest.Shared(t).AWSConfig())
			attrs := map[string]string{}
			if suffix != "" {
				attrs["FifoQueue"] = "true"
			}
			q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("dlq-test-%d%s", seq.Add(1), suffix)), Attributes: attrs})
			if err != nil {
				t.Fatal(err)
			}
			dlq := deadletter.New(c, aws.ToString(q.QueueUrl), 20*time.Second)
			l := deadletter.Letter{
				Reason: deadletter.ReasonMaxAttempts, Detail: "failed 3 attempts: HTTP 503", Circuit: "inv", Key: "inv#2026-03-04#r1",
				Attempts: 3, EventSource: "aws:sqs", ItemIdentifier: "m-1", At: time.Unix(1_700_000_000, 0).UTC(),
				Record: json.RawMessage(`{"messageId":"m-1","body":"{\"id\":\"r1\"}"}`),
			}
			if err := dlq.Send(ctx, l); err != nil {
				t.Fatal(err)
			}
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("receive = %v, %v", out, err)
			}
			msg := out.Messages[0]
			var got deadletter.Letter
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &got); err != nil {
				t.Fatal(err)
			}
			if got.Reason != l.Reason || got.Key != l.Key || got.Attempts != 3 || string(got.Record) != string(l.Record) || !got.At.Equal(l.At) {
				t.Errorf("letter = %+v, want %+v", got, l)
			}
			if r := aws.ToString(msg.MessageAttributes["reason"].StringValue); r != "max-attempts" {
				t.Errorf("reason attribute = %q", r)
			}
		})
	}
}

func TestSendErrorIsWrapped(t *testing.T) {
	c := sqs.NewFromConfig(mototest.Shared(t).AWSConfig())
	dlq := deadletter.New(c, mototest.Shared(t).URL+"/123456789012/no-such-queue", 20*time.Second)
	err := dlq.Send(context.Background(), deadletter.Letter{Reason: "missing-id", Key: "k"})
	if err == nil || !strings.Contains(err.Error(), "deadletter: send k (missing-id)") {
		t.Fatalf("send to a missing queue = %v", err)
	}
}
