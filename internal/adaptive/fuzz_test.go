package adaptive

import (
	"testing"
	"time"
)

// FuzzNext checks the invariants of every decision: the batch size stays within bounds, step never
// moves by more than 1, and a trip only happens from the smallest batch size.
func FuzzNext(f *testing.F) {
	f.Add(uint8(0), 1, 10, 5, 5, 0, 0, int64(1e8), 1, 1.5)
	f.Add(uint8(1), 1, 100, 1, 1, 1, 0, int64(0), 1, 0.0)
	f.Add(uint8(2), 2, 40, 39, 40, 3, 30, int64(3e9), 5, 33.3)
	f.Add(uint8(2), 1, 3, 2, -4, 7, -1, int64(-5), 0, -1.0)
	f.Fuzz(func(t *testing.T, pol uint8, minB, maxB, size, calls, errs, slow int, lat int64, minSamples int, limit float64) {
		c := DefaultConfig()
		c.Policy = policies[int(pol)%len(policies)]
		c.MinConcurrency = 1 + abs(minB)%20
		c.MaxConcurrency = c.MinConcurrency + abs(maxB)%200
		c.MinSamples = 1 + abs(minSamples)%20
		c.GradientWindow = 3
		ctl, err := New(c)
		if err != nil {
			t.Fatalf("New(%+v) error = %v", c, err)
		}
		prev := ctl.Initial(t0)
		prev.Concurrency = c.MinConcurrency + abs(size)%(c.MaxConcurrency-c.MinConcurrency+1)
		if c.Policy == PolicyGradient {
			prev.Limit = limit
		}
		b := Batch{Batches: 1, Calls: calls, Errors: errs, Slow: slow,
			OKLatency: time.Duration(lat), MaxLatency: time.Duration(lat)}
		s := prev
		for i := range 4 {
			next, d := ctl.Next(s, b, t0.Add(time.Duration(i)*time.Second))
			if d.Concurrency < c.MinConcurrency || d.Concurrency > c.MaxConcurrency || d.Concurrency != next.Concurrency {
				t.Fatalf("decision %d: size %d (state %d) outside [%d, %d]", i, d.Concurrency, next.Concurrency, c.MinConcurrency, c.MaxConcurrency)
			}
			if c.Policy == PolicyStep && abs(d.Concurrency-s.Concurrency) > 1 {
				t.Fatalf("step moved from %d to %d", s.Concurrency, d.Concurrency)
			}
			if d.Trip && !s.Tripped && (s.Concurrency != c.MinConcurrency || s.Probe) {
				t.Fatalf("tripped from batch size %d (probe %v), not the floor %d", s.Concurrency, s.Probe, c.MinConcurrency)
			}
			if d.Trip != next.Tripped {
				t.Fatalf("decision trip %v but state tripped %v", d.Trip, next.Tripped)
			}
			s = next
		}
		r, d := ctl.Resume(s, t0)
		if d.Concurrency < c.MinConcurrency || d.Concurrency > c.MaxConcurrency || r.Tripped {
			t.Fatalf("Resume() = %+v, %+v", r, d)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}
