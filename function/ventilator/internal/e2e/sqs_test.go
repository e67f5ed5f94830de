package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// queueEmpty reports whether the source queue holds no message, visible or in flight.
func (r *rig) queueEmpty() bool {
	out, err := sqs.NewFromConfig(r.aws).GetQueueAttributes(ctxT(r.t), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(r.queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	for _, v := range out.Attributes {
		if n, _ := strconv.Atoi(v); n > 0 {
			return false
		}
	}
	return true
}

// Records charged MAX_ATTEMPTS failures of their own, are not JSON or have no id land in the dead-letter queue
// with their reason; everything else is processed once and the queue drains. The mapping is found
// by listing the function's mappings on EVENT_SOURCE_ARN (no ESM_UUID).
func TestDeadLetters(t *testing.T) {
	r := newRig(t, rigOptions{Source: sqsSource, BatchSize: 10, FindMapping: true, Env: []string{"MAX_ATTEMPTS=2", "TRIP_AFTER=1000", "INITIAL_BATCH=10", "MIN_CONCURRENCY=2"}})
	r.provider.set(func(id string, _ int) int {
		if id == "poison" {
			return 500
		}
		return 200
	})
	r.put("", record("g1"), record("g2"), record("poison"), "not json", `{"sku":"no id"}`, record("g3"))
	r.start()
	var letters []map[string]any
	r.eventually("three dead letters", func() bool { letters = append(letters, r.deadLetters()...); return len(letters) >= 3 })
	r.eventually("the queue is drained", r.queueEmpty)
	got := map[string]map[string]any{}
	for _, l := range letters {
		got[fmt.Sprint(l["reason"])] = l
	}
	if l := got["max-attempts"]; l == nil || l["attempts"] != 2.0 || !strings.Contains(fmt.Sprint(l["detail"]), "provider answered 500") ||
		!strings.Contains(fmt.Sprint(l["record"]), `poison`) {
		t.Errorf("max-attempts letter %v", l)
	}
	if l := got["invalid-json"]; l == nil || !strings.Contains(fmt.Sprint(l["record"]), "not json") {
		t.Errorf("invalid-json letter %v", l)
	}
	if l := got["missing-id"]; l == nil || !strings.Contains(fmt.Sprint(l["detail"]), `no "id"`) {
		t.Errorf("missing-id letter %v", l)
	}
	if len(letters) != 3 {
		t.Errorf("%d letters, want 3: %v", len(letters), letters)
	}
	// The letter says 2 charged attempts (checked above); a call that failed after its batch's last
	// success is not charged (the provider might have gone down under it), so the record may be
	// called more often, never less.
	if n := r.provider.callsOf("poison"); n < 2 {
		t.Errorf("poison called %d times, want at least MAX_ATTEMPTS=2", n)
	}
	for _, id := range []string{"g1", "g2", "g3"} {
		if n := r.provider.callsOf(id); n != 1 {
			t.Errorf("%s called %d times, want 1", id, n)
		}
	}
}

// Concurrent ventilators on one mapping (the SQS poller runs up to the mapping's
// MaximumConcurrency at once, in two sandboxes; invokes beyond them are throttled and retried) fold
// their batches into one controller state. With the step policy every healthy batch adds exactly 1
// to the concurrency, so the state's version and concurrency show that no update was lost or
// overwritten.
func TestConcurrentVentilatorsLoseNoControllerUpdate(t *testing.T) {
	r := newRig(t, rigOptions{Source: sqsSource, BatchSize: 3, Ventilators: 2, Env: []string{
		"BATCH_POLICY=step", "MAX_BATCH=1000", "INITIAL_CONCURRENCY=3", "MAX_CONCURRENCY=1000",
	}})
	r.provider.setDelay(30 * time.Millisecond)
	var ids []string
	for i := range 60 {
		ids = append(ids, fmt.Sprint("c", i))
		r.put("", record(ids[i]))
	}
	r.start()
	r.eventuallySucceeded(ids)
	r.eventually("the queue is drained", r.queueEmpty)
	r.cancel() // no more batches while counting
	r.wg.Wait()
	raced := 0
	snap, batches := r.settledController(3)
	for _, l := range r.logLines(map[string]any{"msg": "batch done"}) {
		if a, _ := l["stateAttempts"].(float64); a > 1 {
			raced++
		}
	}
	sandboxes := map[string]bool{}
	for _, l := range strings.Split(r.out.String(), "\n") {
		if strings.Contains(l, `"msg":"batch done"`) {
			sandboxes[l[:strings.IndexByte(l, ' ')]] = true
		}
	}
	t.Logf("%d batches with calls in %d sandboxes; %d state writes lost a race and were re-applied; state version %d, concurrency %d",
		batches, len(sandboxes), raced, snap.Version, snap.State.Concurrency)
	if snap.Version != int64(batches) || snap.State.Concurrency != 3+batches {
		t.Fatalf("after %d batches: state version %d and concurrency %d; want %d and %d", batches, snap.Version, snap.State.Concurrency, batches, 3+batches)
	}
	if len(sandboxes) < 2 {
		t.Errorf("batches ran in %d sandbox(es), want 2: the ventilators never ran at once", len(sandboxes))
	}
	for _, id := range ids {
		if n := r.provider.callsOf(id); n != 1 {
			t.Errorf("record %s called %d times, want 1", id, n)
		}
	}
}

// In a FIFO queue a failed message holds back the rest of its group (returned as failures, not
// processed), while other groups go on; every group is processed in order, each message once.
func TestFIFOGroupsStayInOrder(t *testing.T) {
	r := newRig(t, rigOptions{Source: fifoSource, BatchSize: 10, Env: []string{"INITIAL_BATCH=10", "TRIP_AFTER=1000"}})
	r.provider.set(func(id string, call int) int {
		if id == "a1" && call == 1 {
			return 503
		}
		return 200
	})
	r.put("A", record("a1"), record("a2"), record("a3"))
	r.put("B", record("b1"), record("b2"))
	r.start()
	all := []string{"a1", "a2", "a3", "b1", "b2"}
	r.eventually("every message succeeded", func() bool {
		for _, id := range all {
			if r.provider.successesOf(id) == 0 {
				return false
			}
		}
		return true
	})
	order := r.provider.successOrder()
	for _, group := range [][]string{{"a1", "a2", "a3"}, {"b1", "b2"}} {
		var seen []string
		for _, id := range order {
			if slices.Contains(group, id) {
				seen = append(seen, id)
			}
		}
		if !slices.Equal(seen, group) {
			t.Errorf("group succeeded in the order %v, want %v", seen, group)
		}
	}
	for _, id := range all {
		want := 1
		if id == "a1" {
			want = 2
		}
		if n := r.provider.callsOf(id); n != want {
			t.Errorf("%s called %d times, want %d", id, n, want)
		}
	}
}

// A missing or malformed configuration fails the init, and the invoke's error names the variables.
func TestBadConfigurationFailsInit(t *testing.T) {
	r := newRig(t, rigOptions{Source: sqsSource})
	cases := []struct {
		config lambdaenv.FunctionConfig
		want   []string
	}{
		{r.ventilatorConfig(r.ventilator+"-bad", []string{"DLQ_URL=", "MAX_ATTEMPTS=zero", "BATCH_POLICY=fastest"}),
			[]string{"DLQ_URL is required", "MAX_ATTEMPTS", "BATCH_POLICY", "Runtime.ConfigError"}},
		{r.workerConfig(r.worker+"-bad", []string{"ERROR_RATIO=2"}), []string{"ERROR_RATIO must be a number from 0 to 1"}},
	}
	for _, tc := range cases {
		name := tc.config.Name
		if _, err := r.env.AddFunction(tc.config); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		res, err := r.env.Invoke(ctx, name, []byte(`{"Records":[]}`))
		cancel()
		if err == nil {
			err = res.Err()
		}
		if err == nil {
			t.Fatalf("%s started", name)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s init error %q does not say %q", name, err, w)
			}
		}
	}
}
