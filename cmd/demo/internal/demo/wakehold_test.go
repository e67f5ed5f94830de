package demo

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

// A re-enabled mapping is shown with the trigger of the wake-up that re-enabled it, whether that
// wake-up's line arrives before the monitor sees the mapping enabled or after; a line that never
// comes holds the event for wakeLineGrace at most, and the end of the run lets it go at once.
func TestWakeHoldAttributesTheWakeUpThatEnabled(t *testing.T) {
	total, last := 0, ""
	h := &wakeHold{wakes: func() (int, string) { return total, last }}
	t0 := time.Unix(0, 0)
	enabled := timeline.Event{Kind: timeline.KindMapping, To: "Enabled"}

	// The line arrives after the mapping is seen enabled.
	if out := h.enabled(enabled, t0); len(out) != 0 {
		t.Fatalf("shown before its wake-up line arrived: %+v", out)
	}
	if out := h.poll(t0.Add(time.Second), false); len(out) != 0 {
		t.Fatalf("shown before its wake-up line arrived: %+v", out)
	}
	total, last = 1, "event"
	if out := h.poll(t0.Add(2*time.Second), false); len(out) != 1 || out[0].Via != "event" {
		t.Fatalf("after the event's wake-up line: %+v, want one event woken by the event", out)
	}

	// The line arrives first.
	total, last = 2, "schedule"
	if out := h.enabled(enabled, t0.Add(time.Minute)); len(out) != 1 || out[0].Via != "schedule" {
		t.Fatalf("with the schedule's line already here: %+v, want it shown at once, woken by the schedule", out)
	}

	// No line: held for the grace, then shown without a trigger; an old line is not reused.
	at := t0.Add(2 * time.Minute)
	h.enabled(enabled, at)
	if out := h.poll(at.Add(wakeLineGrace-time.Millisecond), false); len(out) != 0 {
		t.Fatalf("shown before the grace ran out: %+v", out)
	}
	if out := h.poll(at.Add(wakeLineGrace), false); len(out) != 1 || out[0].Via != "" {
		t.Fatalf("after the grace: %+v, want one event without a trigger", out)
	}

	// The run ends: a held event goes out at once.
	h.enabled(enabled, at.Add(time.Minute))
	if out := h.poll(at.Add(time.Minute), true); len(out) != 1 || out[0].Via != "" {
		t.Fatalf("forced: %+v, want the held event", out)
	}
	if out := h.poll(at.Add(2*time.Minute), true); len(out) != 0 {
		t.Fatalf("nothing held, yet %+v", out)
	}
}
