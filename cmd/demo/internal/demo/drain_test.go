package demo

import (
	"strings"
	"testing"
	"time"
)

// The drain goes on while records keep finishing, however slowly, and ends after -drain without
// one, or after 10 × -drain in all.
func TestDrainWaitsOnProgress(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	p := newProgress(t0, time.Minute)
	if why := p.note(t0, 100); why != "" {
		t.Fatalf("at the start: %q", why)
	}
	// One record every 50 s: slower than -drain in all, never idle for -drain.
	for i := 1; i <= 9; i++ {
		if why := p.note(t0.Add(time.Duration(i)*50*time.Second), 100+i); why != "" {
			t.Fatalf("after %d records at 50 s each: %q, want the wait to go on", i, why)
		}
	}
	if why := p.note(t0.Add(450*time.Second+time.Minute), 109); !strings.Contains(why, "no record finished for 1m0s") {
		t.Fatalf("a minute without progress: %q", why)
	}
	p = newProgress(t0, time.Minute)
	for i := 0; i < 20; i++ {
		why := p.note(t0.Add(time.Duration(i)*40*time.Second), i)
		if want := time.Duration(i)*40*time.Second >= 10*time.Minute; (why != "") != want {
			t.Fatalf("at %s with steady progress: %q", time.Duration(i)*40*time.Second, why)
		}
		if why != "" && !strings.Contains(why, "did not drain within 10m0s") {
			t.Fatalf("overall bound: %q", why)
		}
	}
}
