package circuit

import (
	"strings"
	"testing"
	"time"
)

func TestRecentSpanTripsAnOutageOnItsFirstCalls(t *testing.T) {
	p := DefaultPolicy()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := Circuit{ID: "x", State: Closed, Version: 1, Since: now.Add(-time.Hour)}
	for _, tt := range []struct {
		name   string
		recent Counts
		trips  bool
	}{
		{"ten failures in ten calls", Counts{Calls: 10, Failures: 10}, true},                     // lower bound 0.53
		{"nine of nine: under minimum calls", Counts{Calls: 9, Failures: 9}, false},              // and lower bound 0.50-
		{"nine of ten: could be 50 %", Counts{Calls: 10, Failures: 9}, false},                    // lower bound 0.45
		{"22 of 29: short of three times minimum calls", Counts{Calls: 29, Failures: 22}, false}, // lower bound 0.48 at z = 3
		{"22 of 30: a long span, judged at 99 %", Counts{Calls: 30, Failures: 22}, true},         // lower bound 0.52 at z = 2.33 (0.46 at z = 3)
		{"21 of 30: 70 % could be under 50 %", Counts{Calls: 30, Failures: 21}, false},           // lower bound 0.49
		{"26 of 36", Counts{Calls: 36, Slow: 26}, true},                                          // lower bound 0.53
		{"slow calls count too", Counts{Calls: 12, Slow: 12}, true},
		{"nothing known", Counts{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A window of 1,000 calls at a low rate: only the recent span can trip it.
			r := Observe(c, Observation{Window: Counts{Calls: 1000}.Add(tt.recent), Recent: tt.recent}, p, now)
			if got := r.Transition.To == string(Open); got != tt.trips {
				t.Fatalf("recent %+v: tripped %v (%q), want %v", tt.recent, got, r.Transition.Reason, tt.trips)
			}
			if tt.trips && !strings.Contains(r.Transition.Reason, "of the last") {
				t.Errorf("reason %q does not say the recent span tripped it", r.Transition.Reason)
			}
		})
	}
	off := p
	off.RecentSpan = 0
	if r := Observe(c, Observation{Window: Counts{Calls: 100, Failures: 10}, Recent: Counts{Calls: 10, Failures: 10}}, off, now); r.Transition.Happened() {
		t.Errorf("recentSpan 0 still tripped on the recent span: %q", r.Transition.Reason)
	}
	if r := Observe(c, Observation{Window: Counts{Calls: 100, Failures: 10}, Recent: Counts{Calls: 10, Failures: 10}}, p, now); !r.Transition.Happened() {
		t.Errorf("a recent span of 10 failures did not trip a window at 10 %%")
	}
}

func TestRecentSpanIsTheWindowWhenLonger(t *testing.T) {
	p := DefaultPolicy()
	p.RecentSpan, p.Window = 5*time.Minute, time.Minute
	if err := p.Validate(); err != nil || p.Recent() != time.Minute {
		t.Fatalf("Validate() = %v, Recent() = %v; want nil, 1m", err, p.Recent())
	}
}

func TestRecentCountsFindTheOutageAfterHealthyCalls(t *testing.T) {
	p := DefaultPolicy()
	ok, fail := Outcome{OK: true}, Outcome{OK: false}
	var calls []Outcome
	for range 30 {
		calls = append(calls, ok)
	}
	for range 9 {
		calls = append(calls, fail)
	}
	if c := p.RecentCounts(calls); p.RecentReason(c) != "" || c.Calls != 39 {
		t.Fatalf("30 successes then 9 failures: %+v trips or is not the whole span", c)
	}
	calls = append(calls, fail)
	if c := p.RecentCounts(calls); p.RecentReason(c) == "" || c != (Counts{Calls: 10, Failures: 10}) {
		t.Fatalf("30 successes then 10 failures: %+v, want the last 10 calls, tripping", c)
	}
	// 25 % failing, spread: no span that ends now trips.
	calls = calls[:0]
	for i := range 200 {
		if i%4 == 0 {
			calls = append(calls, fail)
		} else {
			calls = append(calls, ok)
		}
	}
	if c := p.RecentCounts(calls); p.RecentReason(c) != "" {
		t.Fatalf("25 %% failing: %+v trips", c)
	}
}
