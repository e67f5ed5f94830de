package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// DefaultBus is the event bus used when none is configured.
const DefaultBus = "default"

// maxEntries is EventBridge's limit of entries per PutEvents call.
const maxEntries = 10

// PutEventsAPI is the part of the EventBridge client the Publisher uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Options tune a Publisher. The zero value of each field means its default.
type Options struct {
	// Bus is the event bus name or ARN (default "default").
	Bus string
	// Timeout bounds each PutEvents call (default 2s).
	Timeout time.Duration
}

// Publisher sends circuit state changes to one event bus.
type Publisher struct {
	client PutEventsAPI
	opt    Options
}

// NewPublisher returns a Publisher on client.
func NewPublisher(client PutEventsAPI, opt Options) *Publisher {
	if opt.Bus == "" {
		opt.Bus = DefaultBus
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 2 * time.Second
	}
	return &Publisher{client: client, opt: opt}
}

// Bus is the event bus the Publisher sends to.
func (p *Publisher) Bus() string { return p.opt.Bus }

// NotPublished is Publish's error: Details are the details that were not published (EventBridge
// refused them, or the call that carried them failed); every other detail was.
type NotPublished struct {
	Details []Detail
	Err     error
}

func (e *NotPublished) Error() string { return e.Err.Error() }
func (e *NotPublished) Unwrap() error { return e.Err }

// Publish sends one event per detail, in calls of at most ten entries. Its error is a
// *NotPublished naming every detail that EventBridge did not accept; the others were published.
func (p *Publisher) Publish(ctx context.Context, details ...Detail) error {
	var errs []error
	var failed []Detail
	for start := 0; start < len(details); start += maxEntries {
		batch := details[start:min(start+maxEntries, len(details))]
		if lost, err := p.put(ctx, batch); err != nil {
			errs = append(errs, err)
			failed = append(failed, lost...)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &NotPublished{Details: failed, Err: errors.Join(errs...)}
}

// put sends one call's batch; on an error it returns the details not published with it.
func (p *Publisher) put(ctx context.Context, batch []Detail) ([]Detail, error) {
	entries := make([]types.PutEventsRequestEntry, len(batch))
	for i, d := range batch {
		body, err := json.Marshal(d)
		if err != nil { // cannot happen for plain strings and numbers; kept so it never panics
			return batch, fmt.Errorf("events: encode detail of %q: %w", d.ID, err)
		}
		entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(p.opt.Bus),
			Source:       aws.String(Source),
			DetailType:   aws.String(DetailType),
			Detail:       aws.String(string(body)),
		}
		if t, err := time.Parse(TimeFormat, d.At); err == nil {
			entries[i].Time = aws.Time(t)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.opt.Timeout)
	defer cancel()
	out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return batch, fmt.Errorf("events: put %d event(s) on bus %s: %w", len(batch), p.opt.Bus, err)
	}
	if out.FailedEntryCount == 0 {
		return nil, nil
	}
	var errs []error
	var failed []Detail
	for i, e := range out.Entries {
		if e.ErrorCode == nil || i >= len(batch) {
			continue
		}
		failed = append(failed, batch[i])
		errs = append(errs, fmt.Errorf("events: circuit %q %s→%s version %d not accepted by bus %s: %s: %s",
			batch[i].ID, batch[i].From, batch[i].To, batch[i].Version, p.opt.Bus, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)))
	}
	if len(errs) == 0 || len(out.Entries) != len(batch) {
		// Refused without saying which: none of them can be taken as published.
		return batch, fmt.Errorf("events: bus %s rejected %d of %d event(s)", p.opt.Bus, out.FailedEntryCount, len(batch))
	}
	return failed, errors.Join(errs...)
}
