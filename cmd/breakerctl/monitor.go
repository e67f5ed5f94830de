package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/breakerbox/breakerbox/checker/input"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// rulePrefix starts the name of every monitor's rule; targetID names the rule's one target.
const (
	rulePrefix = "breakerbox-"
	targetID   = "breakerbox-checker"
	// ruleDescription starts the description of every rule monitor add writes.
	ruleDescription = "breakerbox: probe circuit "
)

func runMonitor(ctx context.Context, a *app, args []string) error {
	if err := a.groupHelp("monitor", "add, list or remove", "breakerctl monitor list -o json", args); err != nil {
		return err
	}
	switch args[0] {
	case "add":
		return monitorAdd(ctx, a, args[1:])
	case "list":
		return monitorList(ctx, a, args[1:])
	case "remove":
		return monitorRemove(ctx, a, args[1:])
	}
	return usagef("unknown monitor command %q: want add, list or remove", args[0])
}

// ruleNamePattern is what EventBridge accepts as a rule name (at most 64 characters).
var ruleNamePattern = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// ruleName is the rule of circuit id's monitor: "breakerbox-<id>", or, when the id has characters
// or a length a rule name cannot (':' or more than 53 characters), a cleaned prefix and a hash of
// the whole id, so every id keeps its own rule.
func ruleName(id string) string {
	if name := rulePrefix + id; ruleNamePattern.MatchString(name) {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	clean := strings.Map(func(r rune) rune {
		if r == ':' {
			return '_'
		}
		return r
	}, id)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return fmt.Sprintf("%s%s-%08x", rulePrefix, clean, h.Sum32())
}

// schedule turns --every into an EventBridge rate expression. EventBridge schedules run at most
// once a minute, in whole minutes.
func schedule(every time.Duration) (string, error) {
	if every < time.Minute || every%time.Minute != 0 {
		return "", usagef("--every %s: EventBridge schedules run in whole minutes, at least once a minute; use e.g. 1m, 5m or 1h", every)
	}
	n, unit := int64(every/time.Minute), "minute"
	switch {
	case n%(24*60) == 0:
		n, unit = n/(24*60), "day"
	case n%60 == 0:
		n, unit = n/60, "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("rate(%d %s)", n, unit), nil
}

func monitorAdd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("monitor add")
	var spec input.Spec
	fs.StringVar(&spec.ID, "id", "", "circuit id of the monitored service")
	fs.StringVar(&spec.URL, "url", "", "health URL to probe (http or https)")
	every := new(time.Duration)
	durationVar(fs, every, "every", time.Minute, "how often to probe, a `duration` in whole minutes (1m, 5m, 1h)")
	fs.StringVar(&spec.Timeout, "timeout", "", "probe timeout (checker default 4s)")
	fs.StringVar(&spec.Method, "method", "", "HTTP method (default GET)")
	fs.StringVar(&spec.ExpectStatus, "expect-status", "", "healthy status codes (default 200-399)")
	fs.StringVar(&spec.SlowCall, "slow-call", "", "an answer slower than this fails (default: the circuit policy's)")
	fs.BoolVar(&spec.FollowRedirects, "follow-redirects", false, "follow redirects instead of judging the 3xx")
	a.repeatable = map[string]bool{"header": true}
	fs.Func("header", "request header 'Name: value' (repeatable)", func(v string) error {
		name, value, ok := strings.Cut(v, ":")
		if !ok {
			return fmt.Errorf("want 'Name: value', got %q", v)
		}
		if spec.Headers == nil {
			spec.Headers = map[string]string{}
		}
		name = strings.TrimSpace(name)
		for prev := range spec.Headers {
			if strings.EqualFold(prev, name) {
				return fmt.Errorf("header %q given twice: %q before names the same header (names are case-insensitive); give each header once", name, prev)
			}
		}
		spec.Headers[name] = strings.TrimSpace(value)
		return nil
	})
	checkerARN := fs.String("checker-arn", a.env.Getenv("BREAKERBOX_CHECKER_ARN"), "ARN of the checker Lambda")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("monitor add takes flags only, e.g. --id inventory --url https://api.example.com/health")
	}
	if spec.ID == "" || spec.URL == "" {
		return usagef("monitor add needs --id and --url, e.g. --id inventory --url https://api.example.com/health")
	}
	if *checkerARN == "" {
		return usagef("monitor add needs the checker's ARN: pass --checker-arn or set BREAKERBOX_CHECKER_ARN")
	}
	expr, err := schedule(*every)
	if err != nil {
		return err
	}
	body, err := input.Encode(spec)
	if err != nil {
		return usagef("%v", err)
	}
	if err := checkLambdaARN(*checkerARN); err != nil {
		return err
	}
	eb, err := a.eventBridge(ctx)
	if err != nil {
		return err
	}
	// A schedule rule invokes Lambda functions of its own region only (cross-region targets are
	// event buses): the checker of another region would never be run by it.
	if fn, _ := arn.Parse(*checkerARN); a.awsCfg != nil && fn.Region != a.awsCfg.Region {
		return usagef("--checker-arn is in region %s but the rule would be created in %s (AWS_REGION): an EventBridge schedule invokes a Lambda function of its own region; use that region's checker or set AWS_REGION=%s", fn.Region, a.awsCfg.Region, fn.Region)
	}
	name := ruleName(spec.ID)
	cctx, cancel := context.WithTimeout(ctx, a.awsTimeout)
	defer cancel()
	rule, err := eb.PutRule(cctx, &eventbridge.PutRuleInput{
		Name:               aws.String(name),
		ScheduleExpression: aws.String(expr),
		State:              types.RuleStateEnabled,
		Description:        aws.String(fmt.Sprintf("%s%s %s", ruleDescription, spec.ID, expr)),
	})
	if err != nil {
		return fmt.Errorf("create rule %s: %w", name, err)
	}
	out, err := eb.PutTargets(cctx, &eventbridge.PutTargetsInput{
		Rule:    aws.String(name),
		Targets: []types.Target{{Id: aws.String(targetID), Arn: checkerARN, Input: aws.String(string(body))}},
	})
	if err != nil {
		return fmt.Errorf("rule %s was created but its checker target was not: %w; run the same command again", name, err)
	}
	if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
		f := out.FailedEntries[0]
		return fmt.Errorf("rule %s was created but EventBridge refused its target: %s: %s; check --checker-arn",
			name, aws.ToString(f.ErrorCode), aws.ToString(f.ErrorMessage))
	}
	m := monitorView{ID: spec.ID, URL: spec.URL, Rule: name, RuleARN: aws.ToString(rule.RuleArn), Schedule: expr,
		State: string(types.RuleStateEnabled), Checker: *checkerARN, Input: shownInput(string(body))}
	if a.output == "json" {
		return writeJSON(a.stdout, m)
	}
	fmt.Fprintf(a.stdout, "monitor %s: rule %s invokes %s %s with input %s\n", spec.ID, name, *checkerARN, expr, m.Input)
	return nil
}

// checkLambdaARN refuses a checker ARN that is not a Lambda function's before anything is written:
// EventBridge takes any well-formed ARN as a target (a queue, a bucket), so the monitor would be
// created and never probe, and a malformed one left a rule without a target behind.
func checkLambdaARN(s string) error {
	a, err := arn.Parse(s)
	if err != nil {
		return usagef("--checker-arn %q is not an ARN: want the checker Lambda's, e.g. arn:aws:lambda:REGION:ACCOUNT:function:breakerbox-checker", s)
	}
	kind, name, _ := strings.Cut(a.Resource, ":")
	if a.Service != "lambda" || kind != "function" || name == "" || a.Region == "" || a.AccountID == "" {
		return usagef("--checker-arn %q is not a Lambda function's ARN: want the checker's, e.g. arn:aws:lambda:REGION:ACCOUNT:function:breakerbox-checker", s)
	}
	return nil
}

// monitorView is one monitored target of one rule.
type monitorView struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Rule     string `json:"rule"`
	RuleARN  string `json:"ruleArn,omitempty"`
	Schedule string `json:"schedule"`
	State    string `json:"state"`
	Checker  string `json:"checker"`
	Input    string `json:"input"`
	// Problem is set when the rule's target input is not a valid checker input.
	Problem string `json:"problem,omitempty"`
}

func monitorList(ctx context.Context, a *app, args []string) error {
	fs := a.flags("monitor list")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("monitor list takes no arguments")
	}
	eb, err := a.eventBridge(ctx)
	if err != nil {
		return err
	}
	ms, err := listMonitors(ctx, eb, a.awsTimeout)
	if err != nil {
		return err
	}
	if a.output == "json" {
		if ms == nil {
			ms = []monitorView{}
		}
		return writeJSON(a.stdout, map[string]any{"monitors": ms})
	}
	if len(ms) == 0 {
		fmt.Fprintln(a.stdout, "no monitors: add one with breakerctl monitor add --id ID --url URL")
		return nil
	}
	t := newTable(a.stdout, "ID", "URL", "SCHEDULE", "STATE", "RULE")
	for _, m := range ms {
		url := m.URL
		if m.Problem != "" {
			url = "(" + m.Problem + ")"
		}
		t.row(orDash(m.ID), url, m.Schedule, m.State, m.Rule)
	}
	return t.flush()
}

// listMonitors reads every rule named breakerbox-* with its targets, following pagination.
func listMonitors(ctx context.Context, eb *eventbridge.Client, timeout time.Duration) ([]monitorView, error) {
	var out []monitorView
	var next *string
	for {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		page, err := eb.ListRules(cctx, &eventbridge.ListRulesInput{NamePrefix: aws.String(rulePrefix), NextToken: next})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		for _, r := range page.Rules {
			ms, err := monitorsOf(ctx, eb, r, timeout)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
		if next = page.NextToken; next == nil {
			return out, nil
		}
	}
}

func monitorsOf(ctx context.Context, eb *eventbridge.Client, r types.Rule, timeout time.Duration) ([]monitorView, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ts, err := eb.ListTargetsByRule(cctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name})
	if err != nil {
		return nil, fmt.Errorf("list targets of rule %s: %w", aws.ToString(r.Name), err)
	}
	base := monitorView{Rule: aws.ToString(r.Name), RuleARN: aws.ToString(r.Arn), Schedule: aws.ToString(r.ScheduleExpression), State: string(r.State)}
	// Not every rule named breakerbox-* is a monitor: a stack named breakerbox has CloudFormation
	// name the ventilator's rules breakerbox-VentilatorFunctionWakeUp-..., whose input is not the
	// checker's. A rule is a monitor when monitor add made it (its description, its target's id)
	// or when a target's input is a checker input; only a monitor's faults are shown.
	ours := strings.HasPrefix(aws.ToString(r.Description), ruleDescription)
	for _, t := range ts.Targets {
		ours = ours || aws.ToString(t.Id) == targetID
	}
	var out []monitorView
	for _, t := range ts.Targets {
		m := base
		m.Checker, m.Input = aws.ToString(t.Arn), aws.ToString(t.Input)
		targets, err := input.Parse([]byte(m.Input))
		m.Input = shownInput(m.Input)
		if err != nil {
			if ours {
				m.Problem = "not a checker input: " + err.Error()
				out = append(out, m)
			}
			continue
		}
		for _, tg := range targets {
			m.ID, m.URL = tg.ID, tg.URL.Redacted()
			out = append(out, m)
		}
	}
	if len(ts.Targets) == 0 && ours {
		base.Problem = "rule has no target"
		out = append(out, base)
	}
	return out, nil
}

func monitorRemove(ctx context.Context, a *app, args []string) error {
	fs := a.flags("monitor remove")
	id := fs.String("id", "", "circuit id of the monitor to remove")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *id == "" && len(pos) == 1:
		*id = pos[0]
	case *id == "" || len(pos) > 0:
		return usagef("monitor remove needs one circuit id, e.g. breakerctl monitor remove inventory")
	}
	if err := circuit.ValidateID(*id); err != nil {
		return usagef("%v", err)
	}
	eb, err := a.eventBridge(ctx)
	if err != nil {
		return err
	}
	name := ruleName(*id)
	cctx, cancel := context.WithTimeout(ctx, a.awsTimeout)
	defer cancel()
	ts, err := eb.ListTargetsByRule(cctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		// monitor list also shows the rules a stack declares (the template's schedules of the
		// checker): one of those for this id is not monitor add's to remove, and saying only that
		// there is none contradicts the list.
		if ms, lerr := listMonitors(ctx, eb, a.awsTimeout); lerr == nil {
			for _, m := range ms {
				if m.ID == *id {
					return fmt.Errorf("no monitor of breakerctl's for %q (rule %s does not exist); %q is probed by rule %s, which breakerctl did not make: remove it where it was declared (e.g. the checker's schedule events in template.yaml)", *id, name, *id, m.Rule)
				}
			}
		}
		return fmt.Errorf("no monitor for %q: rule %s does not exist; 'breakerctl monitor list' shows the monitors", *id, name)
	}
	if err != nil {
		return fmt.Errorf("list targets of rule %s: %w", name, err)
	}
	if len(ts.Targets) > 0 {
		ids := make([]string, len(ts.Targets))
		for i, t := range ts.Targets {
			ids[i] = aws.ToString(t.Id)
		}
		if _, err := eb.RemoveTargets(cctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), Ids: ids}); err != nil {
			return fmt.Errorf("remove the targets of rule %s: %w", name, err)
		}
	}
	if _, err := eb.DeleteRule(cctx, &eventbridge.DeleteRuleInput{Name: aws.String(name)}); err != nil {
		return fmt.Errorf("delete rule %s: %w", name, err)
	}
	if a.output == "json" {
		return writeJSON(a.stdout, map[string]string{"id": *id, "rule": name, "removed": "true"})
	}
	fmt.Fprintf(a.stdout, "monitor %s removed (rule %s)\n", *id, name)
	return nil
}
