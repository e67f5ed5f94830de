package check_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/testkit/busqueue"
)

// TestTransitionReachesSQSThroughEventBridge: the checker's publish travels the real path on moto:
// PutEvents on a bus, a rule matching breakerbox's state changes, an SQS queue as its target. The message
// carries the documented detail-type, source and detail.
func TestTransitionReachesSQSThroughEventBridge(t *testing.T) {
	ctx := ctxT(t)
	cfg := mototest.Shared(t).AWSConfig()
	n := tableSeq.Add(1)
	bq := busqueue.New(ctx, t, cfg, fmt.Sprintf("breakerbox-test-bus-%d", n), fmt.Sprintf("transitions-%d", n))

	st, _ := newTable(t)
	h, err := check.New(st, events.NewPublisher(bq.EventBridge, events.Options{Bus: bq.Bus, Timeout: 10 * time.Second}),
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

	msgs := bq.Receive(ctx, t, 1, 2*time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the queue, want 1", len(msgs))
	}
	ev := busqueue.Decode(t, msgs[0])
	body := aws.ToString(msgs[0].Body)
	if ev.Source != "breakerbox" || ev.DetailType != "Circuit State Change" || ev.Detail != want {
		t.Fatalf("event %s\nwant source breakerbox, detail-type Circuit State Change, detail %+v", body, want)
	}
	if ev.Detail.ID != "payments" || ev.Detail.From != "CLOSED" || ev.Detail.To != "OPEN" || ev.Detail.Version != 3 {
		t.Fatalf("detail %+v", ev.Detail)
	}
	if _, err := time.Parse(time.RFC3339, ev.Detail.At); err != nil {
		t.Fatalf("detail.at %q is not RFC 3339: %v", ev.Detail.At, err)
	}
	var raw struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatalf("message %s: %v", body, err)
	}
	if len(raw.Detail) != 6 {
		t.Fatalf("detail has fields %v, want exactly id, from, to, reason, at, version", raw.Detail)
	}
}
