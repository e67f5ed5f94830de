package underrie

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// The default model under AWS's emulator, which accepts the Telemetry API subscription and never
// delivers an event: sequential invocations all return the function's answer, none runs to its
// timeout; three failures in a row trip the circuit in DynamoDB and the next invocation is denied;
// and the emulator's SIGTERM (SHUTDOWN to the extension) ends it cleanly.
func TestDefaultModelAnswersEveryInvocation(t *testing.T) {
	// A realistic function timeout: an extension that waits for a Telemetry event turns every
	// invocation into a timeout, and a failing run then costs one timeout, not minutes.
	r := newRig(t, 5*time.Second, 0, "BREAKERBOX_OPEN_DURATION=5m", "BREAKERBOX_CACHE_TTL=500ms")
	invocations := 0
	invoke := func(req request) reply {
		t.Helper()
		invocations++
		resp, err := r.invoke(req)
		if err != nil {
			t.Fatal(err)
		}
		return r.answer(resp)
	}
	for i := range 2 {
		if got := invoke(request{Circuit: "inventory"}); !got.Called || got.Err != "" {
			t.Fatalf("healthy invocation %d: %+v, want the call made", i+1, got)
		}
	}
	for i := range 3 {
		if got := invoke(request{Circuit: "payments", Fail: true}); !got.Called {
			t.Fatalf("failing invocation %d: %+v, want the call made", i+1, got)
		}
	}
	waitFor(t, "payments OPEN in DynamoDB after 3 failures in a row", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := r.store.Get(ctx, "payments")
		return err == nil && c.State == circuit.Open
	})
	// The extension's cache holds the circuit for BREAKERBOX_CACHE_TTL: every invocation answers
	// meanwhile, and one of them soon sees it OPEN.
	waitFor(t, "an invocation denied its call as OPEN", func() bool {
		got := invoke(request{Circuit: "payments"})
		return !got.Called && got.Open
	})
	if got := invoke(request{Circuit: "inventory"}); !got.Called {
		t.Fatalf("the healthy circuit after the trip: %+v, want the call made", got)
	}

	stop, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := r.emu.Stop(stop); err != nil {
		t.Fatal(err)
	}
	// Read once the emulator has exited: it writes a REPORT line around the time it answers.
	for _, l := range r.reports() {
		t.Log(l)
	}
	if n := len(r.reports()); n != invocations {
		t.Errorf("%d REPORT lines from the emulator, want one per invocation (%d)", n, invocations)
	}
	out := r.emu.Output()
	if !strings.Contains(out, `"shut down cleanly"`) {
		t.Errorf("the extension did not log that it shut down cleanly after SHUTDOWN")
	}
	if strings.Contains(out, "DATA RACE") {
		t.Errorf("the race detector reported a data race")
	}
}
