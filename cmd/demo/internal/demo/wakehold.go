package demo

import (
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

// wakeLineGrace is how long a "mapping enabled" event waits for the wake-up's metric line before it
// is shown without saying what woke the ventilator.
const wakeLineGrace = 10 * time.Second

// wakeHold attributes a re-enabled mapping to the wake-up that re-enabled it. The monitor sees the
// mapping enabled in Lambda's API as soon as the ventilator enables it, but the wake-up's metric
// line, which names its trigger, reaches the demo a moment later through the sandbox's output
// pipe (later still on a busy machine). So the event is held until a wake-up line not yet
// attributed has arrived, or wakeLineGrace has passed.
type wakeHold struct {
	// wakes returns how many wake-up lines have arrived and the latest one's trigger.
	wakes func() (total int, last string)
	// seen is how many wake-up lines have been attributed.
	seen    int
	pending *timeline.Event
	since   time.Time
}

// enabled takes the event of the mapping seen enabled at now and returns what is ready to show:
// a still held earlier event first, then this one if its wake-up line is already here.
func (h *wakeHold) enabled(e timeline.Event, now time.Time) []timeline.Event {
	out := h.poll(now, true)
	h.pending, h.since = &e, now
	return append(out, h.poll(now, false)...)
}

// poll returns the held event once its wake-up line has arrived (with its trigger in Via), or
// once wakeLineGrace has passed or force is set (without).
func (h *wakeHold) poll(now time.Time, force bool) []timeline.Event {
	if h.pending == nil {
		return nil
	}
	total, last := h.wakes()
	if total > h.seen {
		h.seen = total
		h.pending.Via = last
	} else if !force && now.Sub(h.since) < wakeLineGrace {
		return nil
	}
	e := *h.pending
	h.pending = nil
	return []timeline.Event{e}
}
