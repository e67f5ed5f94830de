package adaptive

import (
	"math"
	"testing"
	"time"
)

func gradientAt(ctl Controller, limit float64, baseline time.Duration) State {
	s := ctl.Initial(t0)
	s.Limit, s.Concurrency, s.Baseline, s.Recent, s.Samples = limit, int(limit), baseline, baseline, 1
	return s
}

func TestGradient(t *testing.T) {
	ctl := newController(t, PolicyGradient, nil)
	base := 200 * time.Millisecond
	sqrt16 := math.Sqrt(16)
	tests := []struct {
		name      string
		latency   time.Duration
		calls     int
		wantLimit float64
	}{
		// gradient 1: limit + smoothing*sqrt(limit)
		{"no queueing grows by the queue allowance", base, 16, 16 + 0.2*sqrt16},
		{"latency within tolerance still grows", base * 3 / 2, 16, 16 + 0.2*sqrt16},
		// gradient 1.5*200/400 = 0.75: 16*0.8 + 0.2*(12+4)
		{"queueing shrinks", 2 * base, 16, 16*0.8 + 0.2*(16*0.75+sqrt16)},
		// gradient clamped at 0.5
		{"gradient is clamped at one half", 10 * base, 16, 16*0.8 + 0.2*(8+sqrt16)},
		{"app-limited does not grow", base, 7, 16},
		{"app-limited still shrinks", 2 * base, 7, 16*0.8 + 0.2*(16*0.75+sqrt16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := ctl.Next(gradientAt(ctl, 16, base), sample(tt.calls, 0, 0, tt.latency), t0)
			if math.Abs(s.Limit-tt.wantLimit) > 1e-9 || d.Concurrency != int(tt.wantLimit) {
				t.Errorf("Next() limit %v size %d, want %v (%s)", s.Limit, d.Concurrency, tt.wantLimit, d.Reason)
			}
			if s.Recent != tt.latency {
				t.Errorf("Recent = %v, want %v", s.Recent, tt.latency)
			}
		})
	}
}

func TestGradientBacksOffOnErrorsAndFailures(t *testing.T) {
	ctl := newController(t, PolicyGradient, nil)
	s, d := ctl.Next(gradientAt(ctl, 16.5, 200*time.Millisecond), sample(16, 9, 0, 200*time.Millisecond), t0)
	if d.Concurrency != 8 || s.Limit != 8 {
		t.Errorf("more than half failed: size %d limit %v, want 8 (%s)", d.Concurrency, s.Limit, d.Reason)
	}
	s, d = ctl.Next(gradientAt(ctl, 16.5, 200*time.Millisecond), sample(16, 16, 0, 0), t0)
	if d.Concurrency != 1 || s.Limit != 1 || d.Trip {
		t.Errorf("all failed: size %d limit %v trip %v, want 1 without trip", d.Concurrency, s.Limit, d.Trip)
	}
}

func TestGradientBaseline(t *testing.T) {
	ctl := newController(t, PolicyGradient, func(c *Config) { c.GradientWindow = 3 })
	s := ctl.Initial(t0)
	s.Concurrency, s.Limit = 10, 10
	// The first sample sets the baseline; a faster one lowers it; a slower one does not raise it.
	for i, tc := range []struct{ lat, wantBase time.Duration }{
		{300 * ms, 300 * ms}, {200 * ms, 200 * ms},
	} {
		s, _ = ctl.Next(s, sample(s.Concurrency, 0, 0, tc.lat), t0)
		if s.Baseline != tc.wantBase {
			t.Fatalf("sample %d: baseline %v, want %v", i, s.Baseline, tc.wantBase)
		}
	}
	// The third decision schedules a probe at MinBatch, which measures the baseline afresh.
	limit := s.Limit
	s, d := ctl.Next(s, sample(s.Concurrency, 0, 0, 900*ms), t0)
	if !s.Probe || d.Concurrency != 1 || s.Baseline != 200*ms {
		t.Fatalf("after the window: probe %v size %d baseline %v; want a probe at 1 (%s)", s.Probe, d.Concurrency, s.Baseline, d.Reason)
	}
	limit = s.Limit
	// A failing probe does not trip: it is not the floor.
	if _, d := ctl.Next(s, sample(1, 1, 0, 0), t0); d.Trip {
		t.Errorf("a failing probe tripped (%s)", d.Reason)
	}
	s, d = ctl.Next(s, sample(1, 0, 0, 600*ms), t0)
	if s.Probe || s.Baseline != 600*ms || s.Limit != limit || d.Concurrency != int(limit) {
		t.Errorf("after the probe: probe %v baseline %v limit %v size %d; want baseline 600ms, limit %v restored",
			s.Probe, s.Baseline, s.Limit, d.Concurrency, limit)
	}
}
