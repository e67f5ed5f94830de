package circuit

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// within reports whether d is base ± Jitter.
func within(d, base time.Duration) bool {
	lo := time.Duration(float64(base) * (1 - Jitter))
	hi := time.Duration(float64(base) * (1 + Jitter))
	return d >= lo && d <= hi
}

func TestOpenDurationDoublesAndIsCapped(t *testing.T) {
	p := DefaultPolicy()
	bases := []time.Duration{ // openCount 1, 2, 3, ...
		30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		10 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	}
	for i, base := range bases {
		openCount := i + 1
		for _, id := range []string{"a", "payments", "orders:eu-west-1", "x.y_z"} {
			for v := int64(1); v <= 50; v++ {
				d := p.OpenDurationFor(id, openCount, v)
				if !within(d, base) {
					t.Fatalf("OpenDurationFor(%q, %d, %d) = %v, want %v ± 10%%", id, openCount, v, d, base)
				}
				if d%time.Millisecond != 0 {
					t.Fatalf("OpenDurationFor(%q, %d, %d) = %v, not rounded to the millisecond", id, openCount, v, d)
				}
			}
		}
	}
	// Huge counts stay capped (math.Pow overflows to +Inf, the cap catches it).
	for _, oc := range []int{64, 1000, math.MaxInt32} {
		if d := p.OpenDurationFor("payments", oc, 1); !within(d, 10*time.Minute) {
			t.Errorf("OpenDurationFor(openCount=%d) = %v, want 10m ± 10%%", oc, d)
		}
	}
	// An openCount below 1 is the first open.
	if a, b := p.OpenDurationFor("payments", 0, 1), p.OpenDurationFor("payments", 1, 1); a != b {
		t.Errorf("openCount 0 gives %v, openCount 1 gives %v; want equal", a, b)
	}
}

func TestOpenDurationExactValues(t *testing.T) {
	// Pinned so an accidental change to the hash or the formula is seen.
	p := DefaultPolicy()
	tests := []struct {
		id        string
		openCount int
		version   int64
		want      time.Duration
	}{
		{"payments", 1, 1, 30128 * time.Millisecond},
		{"payments", 1, 2, 32555 * time.Millisecond},
		{"payments", 2, 1, 54761 * time.Millisecond},
		{"payments", 3, 1, 2*time.Minute + 3555*time.Millisecond},
		{"payments", 6, 1, 10*time.Minute + 53139*time.Millisecond},
		{"svc-a", 1, 1, 28922 * time.Millisecond},
		{"svc-a", 7, 4, 9*time.Minute + 41975*time.Millisecond},
	}
	for _, tt := range tests {
		if got := p.OpenDurationFor(tt.id, tt.openCount, tt.version); got != tt.want {
			t.Errorf("OpenDurationFor(%q, %d, %d) = %v, want %v", tt.id, tt.openCount, tt.version, got, tt.want)
		}
	}
}

func TestJitterStaysWithinTenPercentAndVaries(t *testing.T) {
	p := DefaultPolicy()
	p.BackoffMultiplier = 1 // every open lasts 30s ± jitter
	base := p.OpenDuration
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	distinct := map[time.Duration]bool{}
	var sum float64
	n := 0
	for i := range 200 {
		id := fmt.Sprintf("svc-%d", i)
		for oc := 1; oc <= 5; oc++ {
			for v := int64(1); v <= 10; v++ {
				d := p.OpenDurationFor(id, oc, v)
				if !within(d, base) {
					t.Fatalf("OpenDurationFor(%q, %d, %d) = %v, outside 30s ± 10%%", id, oc, v, d)
				}
				if again := p.OpenDurationFor(id, oc, v); again != d {
					t.Fatalf("not deterministic: %v then %v", d, again)
				}
				lo, hi = min(lo, d), max(hi, d)
				distinct[d] = true
				sum += float64(d)
				n++
			}
		}
	}
	// 10,000 draws: the extremes should come within 1% of each bound; rounded to the millisecond there
	// are 6,001 possible values, of which a uniform draw hits about 4,870; the mean should sit near 30s
	// (a one-sided jitter would move it by ~1.5s).
	if lo > 27300*time.Millisecond || hi < 32700*time.Millisecond {
		t.Errorf("jitter does not spread: min %v, max %v over %d draws", lo, hi, n)
	}
	if len(distinct) < 4500 {
		t.Errorf("only %d distinct durations over %d draws", len(distinct), n)
	}
	if mean := time.Duration(sum / float64(n)); mean < 29700*time.Millisecond || mean > 30300*time.Millisecond {
		t.Errorf("mean open duration %v, want about 30s", mean)
	}
	// Each input moves the jitter on its own.
	d := p.OpenDurationFor("payments", 1, 1)
	if d == p.OpenDurationFor("payments", 1, 2) && d == p.OpenDurationFor("payments", 2, 1) && d == p.OpenDurationFor("payments2", 1, 1) {
		t.Errorf("jitter ignores its inputs: %v everywhere", d)
	}
}

func TestJitterIsAppliedAfterTheCap(t *testing.T) {
	p := DefaultPolicy()
	over := 0
	for v := int64(1); v <= 200; v++ {
		d := p.OpenDurationFor("payments", 10, v)
		if d > 11*time.Minute || d < 9*time.Minute {
			t.Fatalf("capped open duration %v outside 10m ± 10%%", d)
		}
		if d > p.MaxOpenDuration {
			over++
		}
	}
	// Capping after the jitter would pin every draw of a long outage at exactly 10m, in step.
	if over == 0 || over == 200 {
		t.Errorf("%d of 200 capped durations exceed MaxOpenDuration; want some above and some below", over)
	}
}

func TestJitterFractionRange(t *testing.T) {
	for i := range 5000 {
		f := jitterFraction(fmt.Sprint(i), i%7, int64(i))
		if f < -1 || f > 1 || math.IsNaN(f) {
			t.Fatalf("jitterFraction = %v, want in [-1, 1]", f)
		}
	}
}

// TestOpenDurationNeverOverflows: BREAKERBOX_MAX_OPEN_DURATION near the largest duration turned the
// jittered open duration negative (float64 → int64 overflow). Validate refuses such a policy; an
// unvalidated one is still clamped to a positive duration.
func TestOpenDurationNeverOverflows(t *testing.T) {
	p := DefaultPolicy()
	p.MaxOpenDuration = math.MaxInt64
	p.BackoffMultiplier = 1000
	for open := 1; open < 40; open++ {
		for v := int64(1); v < 50; v++ {
			if d := p.OpenDurationFor("c", open, v); d <= 0 || d > time.Duration(float64(MaxOpenLimit)*(1+Jitter))+time.Millisecond {
				t.Fatalf("open %d version %d: duration %s, want positive and at most the limit plus jitter", open, v, d)
			}
		}
	}
	if err := p.Validate(); err == nil {
		t.Fatal("Validate accepted a max open duration of 292 years")
	}
}
