package fleetsim

import (
	"testing"
	"time"
)

// TestFlushTimerTicksAsTheLifecycleDoes: during an invocation the flush timer fires four times per
// flush interval, as the extension's background flusher does (extension/internal/lifecycle), so a
// slow call is counted at most a quarter interval after it passes the threshold, not an interval.
func TestFlushTimerTicksAsTheLifecycleDoes(t *testing.T) {
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	tr := traffic{
		calls: []call{{env: 0, inv: 0, at: start.Add(time.Millisecond), latency: 2 * time.Second, slow: true}},
		invs:  []invocation{{env: 0, start: start, end: start.Add(2*time.Second + 2*time.Millisecond), calls: []int{0}}},
		envs:  1,
	}
	var ticks []time.Duration
	var pass time.Duration
	for _, ev := range events(tr, time.Second, time.Second) {
		switch ev.kind {
		case evTick:
			ticks = append(ticks, ev.at.Sub(start))
		case evPass:
			pass = ev.at.Sub(start)
		}
	}
	if len(ticks) != 8 || ticks[0] != 250*time.Millisecond || ticks[7] != 2*time.Second {
		t.Fatalf("ticks at %v over a 2 s invocation, want every 250 ms from 250 ms to 2 s", ticks)
	}
	var next time.Duration
	for _, tk := range ticks {
		if tk >= pass {
			next = tk
			break
		}
	}
	if next == 0 || next-pass > 250*time.Millisecond {
		t.Fatalf("the call passes the threshold at %s and the next flush is at %s: want within a quarter interval", pass, next)
	}
}
