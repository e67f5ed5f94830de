package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

const checkerARN = "arn:aws:lambda:us-east-1:123456789012:function:breakerbox-checker"

func TestMonitorAddListRemove(t *testing.T) {
	c := newCtl(t)
	c.env["BREAKERBOX_CHECKER_ARN"] = checkerARN
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(mototest.Shared(t).AWSConfig())

	out := c.must("monitor", "add", "--id", "inventory", "--url", "https://api.example.com/health", "--every", "1m", "--timeout", "4s")
	if !strings.Contains(out, "rule breakerbox-inventory") {
		t.Fatalf("monitor add: %q", out)
	}
	rule, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("breakerbox-inventory")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(rule.ScheduleExpression) != "rate(1 minute)" || rule.State != types.RuleStateEnabled {
		t.Fatalf("rule: schedule %q state %s", aws.ToString(rule.ScheduleExpression), rule.State)
	}
	ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("breakerbox-inventory")})
	if err != nil {
		t.Fatal(err)
	}
	const wantInput = `{"id":"inventory","url":"https://api.example.com/health","timeout":"4s"}`
	if len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Arn) != checkerARN || aws.ToString(ts.Targets[0].Input) != wantInput {
		t.Fatalf("targets: %+v", ts.Targets)
	}

	// A second monitor with every option and a schedule in hours.
	if out := c.must("monitor", "add", "--id", "geo:lookup", "--url", "http://geo.internal/ping", "--every", "2h", "--method", "HEAD",
		"--expect-status", "200,204", "--slow-call", "800ms", "--header", "X-Api-Key: k1", "--follow-redirects"); strings.Contains(out, "k1") {
		t.Fatalf("monitor add printed a header's value (an API key): %s", out)
	}
	geoRule := ruleName("geo:lookup")
	ts, err = eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(geoRule)})
	if err != nil {
		t.Fatal(err)
	}
	const geoInput = `{"id":"geo:lookup","url":"http://geo.internal/ping","method":"HEAD","expectStatus":"200,204","slowCall":"800ms","headers":{"X-Api-Key":"k1"},"followRedirects":true}`
	if got := aws.ToString(ts.Targets[0].Input); got != geoInput {
		t.Fatalf("input %s\nwant  %s", got, geoInput)
	}

	var list struct{ Monitors []monitorView }
	if err := json.Unmarshal([]byte(c.must("monitor", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	found := map[string]monitorView{}
	for _, m := range list.Monitors {
		found[m.ID] = m
	}
	if m := found["inventory"]; m.Schedule != "rate(1 minute)" || m.Input != wantInput || m.Checker != checkerARN || m.URL != "https://api.example.com/health" {
		t.Fatalf("listed %+v", m)
	}
	if m := found["geo:lookup"]; m.Schedule != "rate(2 hours)" || m.Rule != geoRule || strings.Contains(m.Input, "k1") ||
		!strings.Contains(m.Input, `"headers":{"X-Api-Key":"***"}`) {
		t.Fatalf("listed %+v, want the header's value (an API key) not shown", m)
	}
	if out := c.must("monitor", "list"); !strings.Contains(out, "inventory") || !strings.Contains(out, "rate(1 minute)") {
		t.Fatalf("monitor list:\n%s", out)
	}

	c.must("monitor", "remove", "inventory")
	c.must("monitor", "remove", "--id", "geo:lookup")
	var nf *types.ResourceNotFoundException
	if _, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("breakerbox-inventory")}); !errors.As(err, &nf) {
		t.Fatalf("rule still there after remove: %v", err)
	}
	if out := c.must("monitor", "list"); strings.Contains(out, "inventory") || strings.Contains(out, "geo:lookup") {
		t.Fatalf("monitor list after remove:\n%s", out)
	}
}

func TestSchedule(t *testing.T) {
	for every, want := range map[time.Duration]string{
		time.Minute: "rate(1 minute)", 5 * time.Minute: "rate(5 minutes)", time.Hour: "rate(1 hour)",
		90 * time.Minute: "rate(90 minutes)", 48 * time.Hour: "rate(2 days)",
	} {
		if got, err := schedule(every); got != want || err != nil {
			t.Errorf("schedule(%s) = %q, %v; want %q", every, got, err, want)
		}
	}
	for _, bad := range []time.Duration{0, 30 * time.Second, 90 * time.Second} {
		if _, err := schedule(bad); err == nil {
			t.Errorf("schedule(%s) accepted", bad)
		}
	}
}

func TestRuleName(t *testing.T) {
	if got := ruleName("inventory"); got != "breakerbox-inventory" {
		t.Fatal(got)
	}
	long := strings.Repeat("a", 100)
	a, b, c := ruleName("geo:lookup"), ruleName("geo_lookup"), ruleName(long)
	for _, n := range []string{a, b, c} {
		if !ruleNamePattern.MatchString(n) {
			t.Fatalf("%q is not a valid rule name", n)
		}
	}
	if a == b || b != "breakerbox-geo_lookup" || ruleName(long) != c || ruleName(long+"b") == c {
		t.Fatalf("names collide or are unstable: %q %q %q", a, b, c)
	}
}

// TestMonitorAddRefusesBadInputBeforeWriting: a checker ARN that is not a Lambda function's, or a
// header given twice (HTTP names are case-insensitive), is a usage error, and no rule is written:
// EventBridge takes any ARN as a target (the monitor would never probe), and a header given twice
// kept one value silently (the checker's pick between "x-a" and "X-A" was left to map order).
func TestMonitorAddRefusesBadInputBeforeWriting(t *testing.T) {
	c := newCtl(t)
	eb := eventbridge.NewFromConfig(mototest.Shared(t).AWSConfig())
	for _, tc := range []struct {
		id   string
		args []string
		want string
	}{
		{"arn-garbage", []string{"--checker-arn", "notanarn"}, "--checker-arn"},
		{"arn-s3", []string{"--checker-arn", "arn:aws:s3:::bucket"}, "Lambda function"},
		{"arn-layer", []string{"--checker-arn", "arn:aws:lambda:us-east-1:123456789012:layer:x:1"}, "Lambda function"},
		{"hdr-twice", []string{"--checker-arn", checkerARN, "--header", "X-A: 1", "--header", "X-A: 2"}, `"X-A"`},
		{"hdr-case", []string{"--checker-arn", checkerARN, "--header", "x-a: 1", "--header", "X-A: 2"}, "same header"},
	} {
		args := append([]string{"monitor", "add", "--id", tc.id, "--url", "https://api.example.com/health"}, tc.args...)
		_, errOut, code := c.run(args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tc.args, code, errOut, exitUsage, tc.want)
		}
		var nf *types.ResourceNotFoundException
		if _, err := eb.DescribeRule(context.Background(), &eventbridge.DescribeRuleInput{Name: aws.String(ruleName(tc.id))}); !errors.As(err, &nf) {
			t.Errorf("%v: rule %s was written: %v", tc.args, ruleName(tc.id), err)
		}
	}
	// A qualified function ARN (version or alias) is fine. (One of another partition is refused
	// here: its region is not the rule's, TestMonitorAddRefusesACheckerInAnotherRegion.)
	for _, arn := range []string{checkerARN + ":live"} {
		c.must("monitor", "add", "--id", "arn-ok", "--url", "https://api.example.com/health", "--checker-arn", arn)
	}
	c.must("monitor", "remove", "arn-ok")
}
