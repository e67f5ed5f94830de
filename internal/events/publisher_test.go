package events_test

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

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
)

type fakeBus struct {
	calls  [][]types.PutEventsRequestEntry
	reject map[int]bool // entry index within a call → rejected
	err    error
}

func (f *fakeBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("PutEvents called without a deadline")
	}
	if f.err != nil {
		return nil, f.err
	}
	f.calls = append(f.calls, in.Entries)
	out := &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}
	for i := range in.Entries {
		if f.reject[i] {
			out.FailedEntryCount++
			out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")}
		}
	}
	return out, nil
}

func TestDetailShape(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890e6, time.FixedZone("x", 3600))
	d := events.FromTransition("inv", circuit.Transition{From: "CLOSED", To: "OPEN", Reason: "3 consecutive failures", At: at, Version: 7})
	b, _ := json.Marshal(d)
	want := `{"id":"inv","from":"CLOSED","to":"OPEN","reason":"3 consecutive failures","at":"2026-03-04T04:06:07.890Z","version":7}`
	if string(b) != want {
		t.Fatalf("detail %s\nwant   %s", b, want)
	}
}

func TestPublishBatchesOfTenOnTheBus(t *testing.T) {
	bus := &fakeBus{}
	p := events.NewPublisher(bus, events.Options{Bus: "ops"})
	ds := make([]events.Detail, 23)
	for i := range ds {
		ds[i] = events.Detail{ID: "c", From: "CLOSED", To: "OPEN", At: "2026-03-04T04:06:07.890Z", Version: int64(i + 1)}
	}
	if err := p.Publish(context.Background(), ds...); err != nil {
		t.Fatal(err)
	}
	if len(bus.calls) != 3 || len(bus.calls[0]) != 10 || len(bus.calls[2]) != 3 {
		t.Fatalf("calls of %d, %d, ... entries", len(bus.calls[0]), len(bus.calls[1]))
	}
	e := bus.calls[1][0]
	if aws.ToString(e.EventBusName) != "ops" || aws.ToString(e.Source) != "breakerbox" || aws.ToString(e.DetailType) != "Circuit State Change" ||
		!strings.Contains(aws.ToString(e.Detail), `"version":11`) || e.Time == nil {
		t.Fatalf("entry %+v", e)
	}
}

func TestPublishReportsRejectedEntriesAndErrors(t *testing.T) {
	bus := &fakeBus{reject: map[int]bool{1: true}}
	p := events.NewPublisher(bus, events.Options{})
	err := p.Publish(context.Background(), events.Detail{ID: "a", Version: 1}, events.Detail{ID: "b", From: "OPEN", To: "HALF_OPEN", Version: 2})
	if err == nil || !strings.Contains(err.Error(), `circuit "b" OPEN→HALF_OPEN version 2 not accepted by bus default: InternalFailure`) {
		t.Fatalf("err = %v", err)
	}
	var np *events.NotPublished
	if !errors.As(err, &np) || len(np.Details) != 1 || np.Details[0].ID != "b" {
		t.Fatalf("err = %#v, want a *NotPublished naming b alone (a was published)", err)
	}
	bus = &fakeBus{err: errors.New("no route")}
	err = events.NewPublisher(bus, events.Options{}).Publish(context.Background(), events.Detail{ID: "a"}, events.Detail{ID: "b"})
	if err == nil || !strings.Contains(err.Error(), "no route") || !errors.As(err, &np) || len(np.Details) != 2 {
		t.Fatalf("err = %v, want a *NotPublished naming both", err)
	}
}
