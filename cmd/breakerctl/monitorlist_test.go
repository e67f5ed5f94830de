package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// TestMonitorListShowsMonitorsOnly: in a stack named breakerbox, CloudFormation names the
// ventilator's rules breakerbox-VentilatorFunctionWakeUp-..., so monitor list showed them as
// broken monitors ("not a checker input"). It lists the rules whose target is the checker with a
// checker input (the template's own schedules too), and the faults of the rules monitor add made.
func TestMonitorListShowsMonitorsOnly(t *testing.T) {
	c := newCtl(t)
	c.env["BREAKERBOX_CHECKER_ARN"] = checkerARN
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(mototest.Shared(t).AWSConfig())
	u := fmt.Sprintf("ml%d", seq.Add(1))
	fn := "arn:aws:lambda:us-east-1:123456789012:function:breakerbox-VentilatorFunction-X"
	rule := func(name, description string, targets ...types.Target) {
		t.Helper()
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), ScheduleExpression: aws.String("rate(1 minute)"), Description: aws.String(description)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			var ids []string
			for _, tg := range targets {
				ids = append(ids, aws.ToString(tg.Id))
			}
			if len(ids) > 0 {
				eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), Ids: ids})
			}
			eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(name)})
		})
		if len(targets) > 0 {
			if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// the stack's other rules
	rule("breakerbox-"+u+"-WakeUp", "", types.Target{Id: aws.String("WakeUpTarget"), Arn: aws.String(fn)})
	rule("breakerbox-"+u+"-SelfWake", "", types.Target{Id: aws.String("SelfWakeTarget"), Arn: aws.String(fn),
		Input: aws.String(`{"source":"breakerbox.ventilator","detail-type":"Ventilator Wake"}`)})
	// the template's own schedule of the checker: a monitor
	rule("breakerbox-"+u+"-check-inventory", "", types.Target{Id: aws.String("CheckInventoryTarget"), Arn: aws.String(checkerARN),
		Input: aws.String(`{"id":"` + u + `-inventory","url":"https://inventory.example.com/health"}`)})
	// monitor add's rules whose target was lost or spoiled by hand: monitors with a fault
	rule("breakerbox-"+u+"-lost", "breakerbox: probe circuit "+u+"-lost rate(1 minute)")
	rule("breakerbox-"+u+"-spoilt", "", types.Target{Id: aws.String(targetID), Arn: aws.String(checkerARN), Input: aws.String(`{"id":"x"}`)})

	var ml struct{ Monitors []monitorView }
	if err := json.Unmarshal([]byte(c.must("monitor", "list", "-o", "json")), &ml); err != nil {
		t.Fatal(err)
	}
	got := map[string]monitorView{}
	for _, m := range ml.Monitors {
		if strings.Contains(m.Rule, u) {
			got[strings.TrimPrefix(m.Rule, "breakerbox-"+u+"-")] = m
		}
	}
	for _, name := range []string{"WakeUp", "SelfWake"} {
		if m, ok := got[name]; ok {
			t.Errorf("the ventilator's rule %s is listed as a monitor: %+v", m.Rule, m)
		}
	}
	if m := got["check-inventory"]; m.ID != u+"-inventory" || m.Problem != "" {
		t.Errorf("the template's checker schedule: %+v", m)
	}
	// monitor remove of an id the list shows from the template's rule says whose rule it is
	_, errOut, code := c.run("monitor", "remove", u+"-inventory")
	if want := "is probed by rule breakerbox-" + u + "-check-inventory, which breakerctl did not make"; code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("monitor remove %s-inventory: exit %d %q, want exit %d and %q", u, code, errOut, exitError, want)
	}
	if m := got["lost"]; m.Problem != "rule has no target" {
		t.Errorf("monitor add's rule without its target: %+v", m)
	}
	if m := got["spoilt"]; !strings.HasPrefix(m.Problem, "not a checker input") {
		t.Errorf("monitor add's rule with a spoilt input: %+v", m)
	}
}
