package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// EventRule is an EventBridge rule with an event pattern whose matching events the Scheduler
// delivers to a function, as a rule with a Lambda target does.
//
// moto matches events against rules but cannot invoke a Lambda target, so the Scheduler puts an SQS
// queue of its own on the rule as its target (moto delivers the matched event there, unchanged), reads
// it, and invokes the function asynchronously with the event, as EventBridge does
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html: "EventBridge invokes
// Lambda functions asynchronously"), with Lambda's retries of an asynchronous invocation that failed:
// two more attempts, one minute and then two minutes later, compressed by Speedup
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
type EventRule struct {
	// Name is the rule's name; the rule must exist on EventBus, with its event pattern.
	Name string
	// EventBus is the rule's bus; default the scheduler's EventBus. (moto answers PutEvents on a bus
	// with 500 while a scheduled rule with a Lambda target is on it, since it matches every event
	// against such a rule and cannot invoke Lambda: put state-change rules on a bus of their own.)
	EventBus string
	// Function is the function (name or ARN) the rule targets.
	Function string
}

// asyncRetryDelays are the pauses before Lambda's two retries of a failed asynchronous invocation.
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// relayQueueName is the SQS queue that carries a rule's events to the scheduler: letters, digits, '-'
// and '_', at most 80 characters.
func relayQueueName(rule string) string {
	n := "lambdaenv-events-" + regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(rule, "-")
	return n[:min(len(n), 80)]
}

// relayTargetID is the id of the scheduler's target on a rule.
const relayTargetID = "lambdaenv-relay"

// relay is one event rule being delivered.
type relay struct {
	rule     EventRule
	function string
	url      string
}

// setUpRelays creates each event rule's relay queue and puts it on the rule as a target.
func (s *Scheduler) setUpRelays(ctx context.Context) ([]relay, error) {
	if len(s.cfg.EventRules) == 0 {
		return nil, nil
	}
	if s.cfg.EventBridge == nil || s.cfg.SQS == nil {
		return nil, errors.New("lambdaenv: scheduler EventRules need the EventBridge and SQS clients")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []relay
	for _, r := range s.cfg.EventRules {
		q, err := s.cfg.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(relayQueueName(r.Name))})
		if err != nil {
			return nil, fmt.Errorf("lambdaenv: relay queue of rule %s: %w", r.Name, err)
		}
		attrs, err := s.cfg.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return nil, fmt.Errorf("lambdaenv: relay queue of rule %s: %w", r.Name, err)
		}
		bus := r.EventBus
		if bus == "" {
			bus = s.cfg.EventBus
		}
		put, err := s.cfg.EventBridge.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(r.Name), EventBusName: aws.String(bus),
			Targets: []ebtypes.Target{{Id: aws.String(relayTargetID), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}},
		})
		if err == nil && put.FailedEntryCount > 0 {
			err = errors.New(aws.ToString(put.FailedEntries[0].ErrorMessage))
		}
		if err != nil {
			return nil, fmt.Errorf("lambdaenv: target the relay queue from rule %s (create the rule first): %w", r.Name, err)
		}
		name, _ := FunctionNameFromARN(r.Function)
		out = append(out, relay{rule: r, function: name, url: aws.ToString(q.QueueUrl)})
		s.log.Info("delivering rule's events", "rule", r.Name, "function", name)
	}
	return out, nil
}

// deliverEvents reads a relay queue until ctx ends and invokes the function asynchronously with each
// event, retrying as Lambda does.
func (s *Scheduler) deliverEvents(ctx context.Context, r relay, inflight *sync.WaitGroup) {
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := s.cfg.SQS.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.count(func(st *SchedulerStats) { st.Errors++ })
				s.log.Warn("read rule's events", "rule", r.rule.Name, "error", err.Error())
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		for _, m := range out.Messages {
			payload := []byte(aws.ToString(m.Body))
			if !json.Valid(payload) {
				s.count(func(st *SchedulerStats) { st.Errors++ })
				s.log.Warn("rule's event is not JSON: dropped", "rule", r.rule.Name, "body", aws.ToString(m.Body))
			} else {
				s.count(func(st *SchedulerStats) { st.Events++ })
				inflight.Go(func() { s.invokeAsync(ctx, r, payload) })
			}
			// Handed over to the (emulated) asynchronous invocation queue: the event is EventBridge's no more.
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if _, err := s.cfg.SQS.DeleteMessage(dctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.url), ReceiptHandle: m.ReceiptHandle}); err != nil && ctx.Err() == nil {
				s.log.Warn("delete relayed event", "rule", r.rule.Name, "error", err.Error())
			}
			cancel()
		}
	}
}

// invokeAsync invokes the function with an event, and again up to twice if it fails.
func (s *Scheduler) invokeAsync(ctx context.Context, r relay, payload []byte) {
	for attempt := 0; ; attempt++ {
		ictx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		res, err := s.invoke(ictx, r.function, payload)
		cancel()
		if err == nil && res.FunctionError == "" {
			return
		}
		if ctx.Err() != nil || attempt >= len(asyncRetryDelays) {
			if ctx.Err() == nil {
				s.log.Warn("event invoke failed, retries exhausted", "rule", r.rule.Name, "function", r.function)
			}
			return
		}
		s.count(func(st *SchedulerStats) { st.EventRetries++ })
		s.log.Info("event invoke failed: retrying", "rule", r.rule.Name, "function", r.function, "attempt", attempt+1)
		sleepCtx(ctx, s.compress(asyncRetryDelays[attempt]))
	}
}
