package handler

import (
	"strings"
	"testing"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
)

// With ESM_UUID alone, config.Load cannot tell an SQS mapping from a Kinesis one, so its check that
// MIN_CONCURRENCY is at least 2 on SQS does not run: Lambda still runs at least 2 invocations, each
// with a call in flight, and MAX_CONCURRENCY=1 (the provider's contractual limit) is exceeded. As
// on Kinesis with more shards than MIN_CONCURRENCY, every batch says so at error level, naming the
// variable to change.
func TestSQSBelowTwoInvocationsIsReported(t *testing.T) {
	r := newRig(t, func(c *config.Config) {
		c.Adaptive.MinConcurrency, c.Adaptive.MaxConcurrency = 1, 1
	})
	if failed := r.invoke(sqsEvent(sqsMessage{id: "m-1", body: rec("a")})); len(failed) != 0 {
		t.Fatalf("failed = %v", failed)
	}
	for _, l := range r.logLines(t) {
		if l["level"] == "ERROR" && strings.Contains(l["error"].(string), "MIN_CONCURRENCY") {
			return
		}
	}
	t.Fatalf("no error log naming MIN_CONCURRENCY for an SQS mapping below 2 invocations; logs: %v", r.logLines(t))
}
