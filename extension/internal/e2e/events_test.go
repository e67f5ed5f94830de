package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/testkit/busqueue"
)

// TestExtensionTripReachesSQSThroughEventBridge: a trip made by the extension (three failures in a
// row under low traffic) is published once to the configured bus, and a rule on source breakerbox
// delivers it to an SQS queue, with the documented source, detail-type and detail.
func TestExtensionTripReachesSQSThroughEventBridge(t *testing.T) {
	ctx := ctxE2E(t)
	cfg := mototest.Shared(t).AWSConfig()
	n := tableSeq.Add(1)
	bq := busqueue.New(ctx, t, cfg, fmt.Sprintf("e2e-bus-%d", n), fmt.Sprintf("e2e-transitions-%d", n))

	r := newRig(t, rigOptions{MaxConcurrency: 1, Env: []string{"BREAKERBOX_EVENT_BUS=" + bq.Bus}})
	r.put(circuit.Circuit{ID: "payments", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})
	r.invoke(call("payments", 0, 3)...)
	var c circuit.Circuit
	waitFor(t, 2*time.Minute, "the extension to trip the circuit", func() bool {
		var err error
		c, err = r.get("payments")
		return err == nil && c.State == circuit.Open
	})

	// Nothing else arrives: the transition was published once.
	msgs := bq.Receive(ctx, t, 1, 2*time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the queue, want exactly 1", len(msgs))
	}
	ev := busqueue.Decode(t, msgs[0])
	body := aws.ToString(msgs[0].Body)
	d := ev.Detail
	if ev.Source != "breakerbox" || ev.DetailType != "Circuit State Change" || d.ID != "payments" || d.From != "CLOSED" || d.To != "OPEN" ||
		d.Version != c.Version || d.Reason != c.Reason {
		t.Fatalf("event %s\nwant the trip to version %d: %q", body, c.Version, c.Reason)
	}
	if c.Unpublished != nil {
		t.Fatalf("outbox %+v after a good publish", c.Unpublished)
	}
}
