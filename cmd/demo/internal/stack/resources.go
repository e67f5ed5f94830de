package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Names are the AWS resources' names.
type Names struct {
	// Table is breakerbox's table, DedupTable the ventilator's, DLQ its dead-letter queue and
	// Stream the Kinesis stream it reads.
	Table, DedupTable, DLQ, Stream string
	// CheckRule is the checker's schedule rule, named as breakerctl monitor add names it;
	// WakeRule is the ventilator's wake-up schedule; ChangeRule the rule on the circuit's state
	// changes that wakes it too, on the bus EventBus where the checker publishes them.
	CheckRule, WakeRule, ChangeRule, EventBus string
}

// NamesFor returns the names for circuit; a non-empty run suffixes them so that runs sharing an
// endpoint do not collide.
func NamesFor(circuit, run string) Names {
	sfx := ""
	if run != "" {
		sfx = "-" + run
	}
	return Names{
		Table:      "breakerbox" + sfx,
		DedupTable: "breakerbox-dedup" + sfx,
		DLQ:        "orders-dlq" + sfx,
		Stream:     "orders" + sfx,
		CheckRule:  "breakerbox-" + circuit + sfx,
		WakeRule:   "wake-ventilator" + sfx,
		ChangeRule: "wake-ventilator-on-" + circuit + sfx,
		EventBus:   "breakerbox-events" + sfx,
	}
}

// Resources are the created resources' identifiers.
type Resources struct {
	Names
	// StreamARN is the stream's ARN; DLQURL the dead-letter queue's URL.
	StreamARN string
	DLQURL    string
}

// CreateResources creates the tables, the stream and the dead-letter queue (not the rules, which
// need the functions' ARNs).
func CreateResources(ctx context.Context, cfg aws.Config, n Names) (Resources, error) {
	r := Resources{Names: n}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	db := dynamodb.NewFromConfig(cfg)
	if err := store.CreateTable(ctx, db, n.Table); err != nil {
		return r, fmt.Errorf("stack: %w", err)
	}
	// The ventilator's dedup table: pk only, TTL on expiresAt (see its package dedup).
	if err := store.EnsureTable(ctx, db, store.TableSpec{Name: n.DedupTable}); err != nil {
		return r, fmt.Errorf("stack: dedup table: %w", err)
	}
	q := sqs.NewFromConfig(cfg)
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(n.DLQ)})
	if err != nil {
		return r, fmt.Errorf("stack: create dead-letter queue %s: %w", n.DLQ, err)
	}
	r.DLQURL = aws.ToString(out.QueueUrl)
	k := kinesis.NewFromConfig(cfg)
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(n.Stream), ShardCount: aws.Int32(1)}); err != nil {
		return r, fmt.Errorf("stack: create stream %s: %w", n.Stream, err)
	}
	if err := kinesis.NewStreamExistsWaiter(k).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(n.Stream)}, time.Minute); err != nil {
		return r, fmt.Errorf("stack: wait for stream %s: %w", n.Stream, err)
	}
	d, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(n.Stream)})
	if err != nil {
		return r, fmt.Errorf("stack: describe stream %s: %w", n.Stream, err)
	}
	r.StreamARN = aws.ToString(d.StreamDescriptionSummary.StreamARN)
	return r, nil
}

// PutChangeRule creates the event bus (if needed) and on it (or updates) the rule on circuit's
// Circuit State Change events to HALF_OPEN or CLOSED, as template.yaml's WakeOnStateChange does. Its
// target is set by lambdaenv's scheduler, which delivers the matched events to the ventilator (moto
// cannot invoke a Lambda target). The bus is not the default one: moto fails every PutEvents on a
// bus that holds a scheduled rule with a Lambda target, as the default bus does here.
func PutChangeRule(ctx context.Context, cfg aws.Config, bus, name, circuit string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pattern, err := json.Marshal(map[string]any{
		"source": []string{events.Source}, "detail-type": []string{events.DetailType},
		"detail": map[string]any{"id": []string{circuit}, "to": []string{"HALF_OPEN", "CLOSED"}},
	})
	if err != nil {
		return fmt.Errorf("stack: pattern of rule %s: %w", name, err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		var exists *ebtypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return fmt.Errorf("stack: create event bus %s: %w", bus, err)
		}
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus),
		EventPattern: aws.String(string(pattern)), State: ebtypes.RuleStateEnabled}); err != nil {
		return fmt.Errorf("stack: put rule %s: %w", name, err)
	}
	return nil
}

// Rule is a scheduled EventBridge rule with one Lambda target.
type Rule struct {
	// Name is the rule's name, Schedule its rate expression, FunctionARN its target.
	Name, Schedule, FunctionARN string
	// Input is the target's constant input; "" sends the scheduled event.
	Input string
}

// PutRule creates (or updates) the rule and its target.
func PutRule(ctx context.Context, cfg aws.Config, r Rule) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(r.Name), ScheduleExpression: aws.String(r.Schedule), State: ebtypes.RuleStateEnabled}); err != nil {
		return fmt.Errorf("stack: put rule %s: %w", r.Name, err)
	}
	t := ebtypes.Target{Id: aws.String("lambda"), Arn: aws.String(r.FunctionARN)}
	if r.Input != "" {
		t.Input = aws.String(r.Input)
	}
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(r.Name), Targets: []ebtypes.Target{t}})
	if err != nil {
		return fmt.Errorf("stack: put target of rule %s: %w", r.Name, err)
	}
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("stack: put target of rule %s: %d failed", r.Name, out.FailedEntryCount)
	}
	return nil
}
