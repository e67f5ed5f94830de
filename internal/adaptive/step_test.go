package adaptive

import (
	"testing"
	"time"
)

// TestStepIsTheOriginalRule pins the original ventilator rule: -1 when (slow+errors)/n > 50 %, +1
// when no call was slow or failed, hold otherwise.
func TestStepIsTheOriginalRule(t *testing.T) {
	ctl := newController(t, PolicyStep, func(c *Config) { c.MaxConcurrency = 20 })
	tests := []struct {
		name              string
		size              int
		calls, errs, slow int
		want              int
	}{
		{"clean batch", 5, 5, 0, 0, 6},
		{"one slow call holds", 5, 5, 0, 1, 5},
		{"one error holds", 5, 5, 1, 0, 5},
		{"exactly half bad holds", 4, 4, 1, 1, 4},
		{"just over half bad", 5, 5, 2, 1, 4},
		{"all slow", 5, 5, 0, 5, 4},
		{"all failed above the floor", 8, 8, 8, 0, 7},
		{"clean at the maximum", 20, 20, 0, 0, 20},
		{"bad at the floor of a slow provider", 1, 1, 0, 1, 1},
		{"short batch, clean", 5, 2, 0, 0, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := ctl.Next(at(ctl, tt.size), sample(tt.calls, tt.errs, tt.slow, 100*time.Millisecond), t0)
			if d.Concurrency != tt.want || s.Concurrency != tt.want || d.Trip {
				t.Errorf("Next() = size %d (state %d), trip %v; want %d, no trip (%s)",
					d.Concurrency, s.Concurrency, d.Trip, tt.want, d.Reason)
			}
		})
	}
}
