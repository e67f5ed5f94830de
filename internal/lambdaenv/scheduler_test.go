package lambdaenv

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// recorder is an Invoker that keeps the payloads it got, per function.
type recorder struct {
	mu   sync.Mutex
	got  map[string][][]byte
	fail bool
}

func (r *recorder) Invoke(_ context.Context, name string, payload []byte) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][][]byte{}
	}
	r.got[name] = append(r.got[name], payload)
	if r.fail {
		return functionError, nil
	}
	return Result{Payload: []byte("null")}, nil
}

func (r *recorder) calls(name string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got[name]...)
}

func runScheduler(t *testing.T, s *Scheduler) { runUntilCleanup(t, "scheduler", s.Run) }

func TestParseRate(t *testing.T) {
	for expr, want := range map[string]time.Duration{"rate(1 minute)": time.Minute, "rate(10 minutes)": 10 * time.Minute, "rate(2 hours)": 2 * time.Hour, "rate(1 day)": 24 * time.Hour} {
		if got, err := ParseRate(expr); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, bad := range []string{"", "rate(0 minutes)", "rate(5 fortnights)", "cron(0 12 * * ? *)", "rate(-1 minutes)"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// Static rules: the scheduled event (shaped like EventBridge's) or the constant input, at the
// compressed rate.
func TestSchedulerStaticRules(t *testing.T) {
	rec := &recorder{}
	s, err := NewScheduler(SchedulerConfig{
		Invoker: rec,
		Speedup: 6000, // rate(10 minutes) every 100 ms
		Rules: []ScheduleRule{
			{Name: "wake-ventilator", Schedule: "rate(10 minutes)", Function: "ventilator"},
			{Name: "check-inventory", Schedule: "rate(10 minutes)", Function: "arn:aws:lambda:us-east-1:123456789012:function:checker", Input: json.RawMessage(`{"id":"inventory","url":"http://127.0.0.1:1/health"}`)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Second)
	runScheduler(t, s)
	eventually(t, "three firings of each rule", func() bool { return len(rec.calls("ventilator")) >= 3 && len(rec.calls("checker")) >= 3 })

	for _, p := range rec.calls("ventilator") {
		sameShape(t, "scheduled event", p, golden(t, "scheduled_event.json"))
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(p, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Version != "0" || ev.AccountID != "123456789012" || ev.Region != "us-east-1" ||
			len(ev.Resources) != 1 || ev.Resources[0] != "arn:aws:events:us-east-1:123456789012:rule/wake-ventilator" || string(ev.Detail) != "{}" ||
			!isUUID(ev.ID) || ev.Time.Before(start) || ev.Time.Nanosecond() != 0 {
			t.Errorf("scheduled event %s", p)
		}
	}
	for _, p := range rec.calls("checker") {
		if string(p) != `{"id":"inventory","url":"http://127.0.0.1:1/health"}` {
			t.Errorf("constant input %s", p)
		}
	}
	if st := s.Stats(); st.Fired < 6 || st.Rules != 2 {
		t.Errorf("stats %+v", st)
	}
	if _, err := NewScheduler(SchedulerConfig{Invoker: rec, Rules: []ScheduleRule{{Name: "x", Schedule: "cron(0 * * * ? *)", Function: "f"}}}); err == nil {
		t.Error("a cron rule was accepted")
	}
}

// Rules in EventBridge (moto) are followed: fired to their Lambda targets with their Input, and a
// disabled rule stops firing.
func TestSchedulerFollowsEventBridgeRules(t *testing.T) {
	moto := mototest.Shared(t)
	cfg := moto.AWSConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eb := eventbridge.NewFromConfig(cfg)
	bus := "default" // EventBridge (and moto) take schedule expressions on the default bus only
	prefix := unique("sched")
	put := func(rule, fn string, input *string) string {
		out, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), ScheduleExpression: aws.String("rate(5 minutes)"), State: ebtypes.RuleStateEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{
			{Id: aws.String("fn"), Arn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:" + fn), Input: input},
			{Id: aws.String("queue"), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:not-a-function")},
		}}); err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.RuleArn)
	}
	put(prefix+"-monitor-inventory", "checker", aws.String(`{"id":"inventory"}`))
	wakeARN := put(prefix+"-wake", "ventilator", nil)

	rec := &recorder{}
	s, err := NewScheduler(SchedulerConfig{Invoker: rec, Speedup: 3000, EventBridge: eb, RulePrefix: prefix, RefreshInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	eventually(t, "both rules to fire", func() bool { return len(rec.calls("checker")) >= 2 && len(rec.calls("ventilator")) >= 2 })
	for _, p := range rec.calls("checker") {
		if string(p) != `{"id":"inventory"}` {
			t.Errorf("checker input %s", p)
		}
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(rec.calls("ventilator")[0], &ev); err != nil || len(ev.Resources) != 1 || ev.Resources[0] != wakeARN || ev.DetailType != "Scheduled Event" {
		t.Errorf("scheduled event %+v (%v), want resources [%s]", ev, err, wakeARN)
	}
	if len(rec.calls("not-a-function")) != 0 {
		t.Error("a non-Lambda target was invoked")
	}

	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(prefix + "-monitor-inventory"), EventBusName: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	refreshes := s.Stats().Refreshes
	eventually(t, "two refreshes after the disable", func() bool { return s.Stats().Refreshes >= refreshes+2 })
	checks := len(rec.calls("checker"))
	wakes := len(rec.calls("ventilator"))
	eventually(t, "the enabled rule to go on firing", func() bool { return len(rec.calls("ventilator")) >= wakes+3 })
	if got := len(rec.calls("checker")); got != checks {
		t.Errorf("the disabled rule fired %d more times", got-checks)
	}
	if st := s.Stats(); st.Rules != 1 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
}
