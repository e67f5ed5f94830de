package e2e

import (
	"fmt"
	"testing"
	"time"
)

// An outage longer than MAX_ATTEMPTS calls per record dead-letters no healthy record: the first
// batches fail whole (no attempt counted), the circuit opens and the mapping is disabled, the
// wake-ups' probes fail again and again (the circuit, told of each, is not CLOSED: no attempt
// counted), and once the provider is back every record succeeds once and the dead-letter queue is
// empty.
func TestOutageLongerThanMaxAttemptsDeadLettersNothing(t *testing.T) {
	const maxAttempts = 2
	r := newRig(t, rigOptions{BatchSize: 5, WakeEvery: 500 * time.Millisecond, Env: []string{
		fmt.Sprint("MAX_ATTEMPTS=", maxAttempts), "BREAKERBOX_OPEN_DURATION=1s", "BREAKERBOX_MAX_OPEN_DURATION=2s",
	}})
	r.provider.failing()
	var ids []string
	for i := range 8 {
		ids = append(ids, fmt.Sprint("u", i))
		r.put("", record(ids[i]))
	}
	r.start()
	// The outage lasts until some record (every batch starts with the head of the stream, every
	// probe calls its batch's newest record) has been called more than MAX_ATTEMPTS + 2 times.
	var letters []map[string]any
	most := func() (string, int) {
		id, n := ids[0], 0
		for _, x := range ids {
			if c := r.provider.callsOf(x); c > n {
				id, n = x, c
			}
		}
		return id, n
	}
	r.eventually("a record failed more than MAX_ATTEMPTS+2 times, or a dead letter", func() bool {
		letters = append(letters, r.deadLetters()...)
		_, n := most()
		return len(letters) > 0 || n > maxAttempts+2
	})
	worst, calls := most()
	if len(letters) != 0 {
		t.Fatalf("%d records dead-lettered during the outage: %v", len(letters), letters)
	}
	r.provider.healthy()
	r.eventuallySucceeded(ids)
	for _, id := range ids {
		if n := r.provider.successesOf(id); n != 1 {
			t.Errorf("record %s succeeded %d times, want 1", id, n)
		}
	}
	if letters = r.deadLetters(); len(letters) != 0 {
		t.Fatalf("%d records dead-lettered by the outage: %v", len(letters), letters)
	}
	t.Logf("outage: %s called %d times (MAX_ATTEMPTS %d), %d calls in all", worst, calls, maxAttempts, r.provider.totalCalls())
}
