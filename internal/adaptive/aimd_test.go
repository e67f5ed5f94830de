package adaptive

import (
	"testing"
	"time"
)

func TestAIMD(t *testing.T) {
	ctl := newController(t, PolicyAIMD, func(c *Config) { c.MaxConcurrency = 40; c.MinConcurrency = 2 })
	tests := []struct {
		name              string
		size              int
		calls, errs, slow int
		want              int
	}{
		{"clean batch: +1", 10, 10, 0, 0, 11},
		{"clean at the maximum", 40, 40, 0, 0, 40},
		{"bad share at the threshold holds", 10, 10, 2, 3, 10},
		{"a little bad holds", 10, 10, 1, 0, 10},
		{"bad share above the threshold halves", 10, 10, 2, 4, 5},
		{"halving rounds down", 11, 11, 0, 11, 5},
		{"halving stops at the minimum", 3, 3, 0, 3, 2},
		{"every call failed: straight to the minimum", 30, 30, 30, 0, 2},
		{"app-limited clean batch holds", 10, 4, 0, 0, 10},
		{"half-full clean batch grows", 10, 5, 0, 0, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := ctl.Next(at(ctl, tt.size), sample(tt.calls, tt.errs, tt.slow, 100*time.Millisecond), t0)
			if d.Concurrency != tt.want || d.Trip {
				t.Errorf("Next() = %d, trip %v; want %d (%s)", d.Concurrency, d.Trip, tt.want, d.Reason)
			}
		})
	}
}

func TestAIMDBackoffFactorAndRatio(t *testing.T) {
	ctl := newController(t, PolicyAIMD, func(c *Config) { c.BackoffFactor = 0.75; c.BackoffRatio = 0.1 })
	_, d := ctl.Next(at(ctl, 20), sample(20, 0, 3, 100*time.Millisecond), t0)
	if d.Concurrency != 15 {
		t.Errorf("Next() = %d, want 15 (x0.75 once 15 %% > 10 %%)", d.Concurrency)
	}
}
