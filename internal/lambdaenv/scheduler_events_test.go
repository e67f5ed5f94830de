package lambdaenv

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// An event rule's matching events reach its function, as EventBridge's asynchronous invoke of a
// Lambda target: the event itself, once per match; events the pattern does not match are not
// delivered; a failed invoke is retried twice (Lambda's asynchronous retries, compressed).
func TestEventRuleDeliversMatchingEvents(t *testing.T) {
	cfg := mototest.Shared(t).AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eb := eventbridge.NewFromConfig(cfg)
	rule := unique("wake-on-change")
	pattern := `{"source":["breakerbox"],"detail-type":["Circuit State Change"],"detail":{"id":["inventory"],"to":["HALF_OPEN","CLOSED"]}}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s, err := NewScheduler(SchedulerConfig{Invoker: rec, EventBridge: eb, SQS: sqs.NewFromConfig(cfg), RulePrefix: "no-scheduled-rules-",
		Speedup: 600, EventRules: []EventRule{{Name: rule, Function: "arn:aws:lambda:us-east-1:123456789012:function:ventilator"}}})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	// The relay target is on the rule once Run has set it up.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		out, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
		if err == nil && len(out.Targets) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no relay target on the rule: %v, %v", out, err)
		}
	}
	put := func(id, to string) {
		t.Helper()
		detail := `{"id":"` + id + `","from":"OPEN","to":"` + to + `","reason":"probe ok","at":"2026-03-04T10:00:00.000Z","version":3}`
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("breakerbox"), DetailType: aws.String("Circuit State Change"), Detail: aws.String(detail)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %+v, %v", out, err)
		}
	}
	put("other", "CLOSED")
	put("inventory", "OPEN")
	put("inventory", "HALF_OPEN")
	eventually(t, "the matching event is delivered", func() bool { return len(rec.calls("ventilator")) >= 1 })
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			ID, To string
		} `json:"detail"`
	}
	got := rec.calls("ventilator")
	if err := json.Unmarshal(got[0], &ev); err != nil || ev.Source != "breakerbox" || ev.DetailType != "Circuit State Change" || ev.Detail.ID != "inventory" || ev.Detail.To != "HALF_OPEN" {
		t.Fatalf("delivered %s (%v), want the HALF_OPEN event of inventory", got[0], err)
	}

	rec.mu.Lock()
	rec.fail = true
	rec.mu.Unlock()
	put("inventory", "CLOSED")
	eventually(t, "the failed invoke is retried twice", func() bool { return len(rec.calls("ventilator")) >= 4 })
	eventually(t, "the retries are counted", func() bool { return s.Stats().EventRetries == 2 })
	if n := len(rec.calls("ventilator")); n != 4 {
		t.Fatalf("%d invokes, want the first event, then 3 tries of the second", n)
	}
	if st := s.Stats(); st.Events != 2 {
		t.Fatalf("stats %+v, want 2 events received (the others did not match)", st)
	}
}
