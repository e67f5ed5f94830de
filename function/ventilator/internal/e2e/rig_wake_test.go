package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// faultProxy starts a proxy to the Lambda API at upstream that answers 500 ServiceException to
// the requests LambdaFault picks, and returns its URL.
func (r *rig) faultProxy(upstream string) string {
	u, err := url.Parse(upstream)
	if err != nil {
		r.t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.opt.LambdaFault(req.Method, req.URL.Path, body) {
			w.Header().Set("X-Amzn-ErrorType", "ServiceException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"Type":"Service","message":"injected by the e2e test"}`)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, req)
	}))
	r.t.Cleanup(srv.Close)
	return srv.URL
}

// wakeRule is the name of the EventBridge rule on the circuit's state changes.
func (r *rig) wakeRule() string { return "wake-on-change-" + r.ventilator }

// startEventWakeUps creates the rule the template creates (the circuit's Circuit State Change to
// HALF_OPEN or CLOSED) and a scheduler that delivers its events to the ventilator, with the
// rate(10 minutes) backstop at its real pace.
func (r *rig) startEventWakeUps() {
	r.t.Helper()
	eb := eventbridge.NewFromConfig(r.aws)
	pattern := fmt.Sprintf(`{"source":[%q],"detail-type":[%q],"detail":{"id":[%q],"to":["HALF_OPEN","CLOSED"]}}`,
		events.Source, events.DetailType, r.circuit)
	if _, err := eb.PutRule(ctxT(r.t), &eventbridge.PutRuleInput{Name: aws.String(r.wakeRule()), EventPattern: aws.String(pattern)}); err != nil {
		r.t.Fatal(err)
	}
	s, err := lambdaenv.NewScheduler(lambdaenv.SchedulerConfig{
		Invoker: r.env, EventBridge: eb, SQS: sqs.NewFromConfig(r.aws), RulePrefix: "no-scheduled-rule-in-e2e-",
		Rules:      []lambdaenv.ScheduleRule{{Name: "wake-" + r.ventilator, Schedule: "rate(10 minutes)", Function: r.ventilator}},
		EventRules: []lambdaenv.EventRule{{Name: r.wakeRule(), Function: r.ventilator}},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.sched = s
	r.wg.Go(func() { _ = s.Run(r.runCtx) })
	r.eventually("the scheduler targets the wake-up rule", func() bool {
		out, err := eb.ListTargetsByRule(ctxT(r.t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String(r.wakeRule())})
		return err == nil && len(out.Targets) == 1
	})
}

// force sets an operator override and publishes the state change, as breakerctl does.
func (r *rig) force(o circuit.Override, reason string) {
	r.t.Helper()
	res, err := r.store.Force(ctxT(r.t), r.circuit, o, reason, time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	if !res.Changed {
		return
	}
	pub := events.NewPublisher(eventbridge.NewFromConfig(r.aws), events.Options{Timeout: 20 * time.Second})
	if err := pub.Publish(ctxT(r.t), events.FromTransition(r.circuit, res.Transition)); err != nil {
		r.t.Fatal(err)
	}
}

// forceAhead sets an operator override as force does, but publishes the state change the way a
// publisher one version ahead might: the detail carries fields this version does not know.
func (r *rig) forceAhead(o circuit.Override, reason string) {
	r.t.Helper()
	res, err := r.store.Force(ctxT(r.t), r.circuit, o, reason, time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	if !res.Changed {
		r.t.Fatalf("override %q changed nothing", o)
	}
	detail := map[string]any{"region": "eu-west-1", "probe": map[string]any{"latencyMs": 12}, "labels": []string{"e2e"}}
	known, err := json.Marshal(events.FromTransition(r.circuit, res.Transition))
	if err == nil {
		err = json.Unmarshal(known, &detail)
	}
	body, merr := json.Marshal(detail)
	if err != nil || merr != nil {
		r.t.Fatal(err, merr)
	}
	out, err := eventbridge.NewFromConfig(r.aws).PutEvents(ctxT(r.t), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(events.Source), DetailType: aws.String(events.DetailType), Detail: aws.String(string(body)),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		r.t.Fatalf("put the event: %v (%d failed)", err, out.FailedEntryCount)
	}
}
