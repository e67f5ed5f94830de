package circuit

import (
	"testing"
	"time"
)

func TestFleetWindow(t *testing.T) {
	p := DefaultPolicy() // 50 %, 10 calls, 60s window of 10s buckets
	settle := Settle(5*time.Second, time.Second, 500*time.Millisecond)
	now := t0.Add(55 * time.Second)
	bucket := func(offset time.Duration, c Counts) BucketCounts {
		return BucketCounts{Start: p.BucketStart(t0.Add(offset)), Counts: c}
	}
	settledBucket := func(offset time.Duration, c, settled Counts) BucketCounts {
		return BucketCounts{Start: p.BucketStart(t0.Add(offset)), Counts: c, Settled: settled}
	}
	// B flushed 5 failures in 10 calls early; A's 200 successes came later, once it saw the mark.
	read := []BucketCounts{bucket(5*time.Second, Counts{Calls: 10, Failures: 5}), settledBucket(25*time.Second, Counts{Calls: 200}, Counts{Calls: 200})}
	marked := func(since time.Time) Circuit {
		return Circuit{ID: cid, State: Closed, Version: 2, Since: t0.Add(-time.Hour), BadSince: since, BadUntil: since.Add(p.Window)}
	}
	// A mark's failures go on: each extends it a window on (MarkBad), keeping BadSince.
	extended := func(c Circuit) Circuit { c.BadUntil = now.Add(time.Minute); return c }
	ownOld := []BucketCounts{bucket(5*time.Second, Counts{Calls: 10, Failures: 5})}
	calls := func(n int64) FleetCounts { return FleetCounts{Window: Counts{Calls: n}} }
	tests := []struct {
		name   string
		c      Circuit
		read   []BucketCounts
		own    []BucketCounts
		recent Counts
		want   FleetCounts
	}{
		// Issue 12's case: B's own 10 calls at 50 %, nothing settled: B must not trip on them alone.
		{"no mark: rates undecided, calls known", Circuit{ID: cid, State: Closed, Version: 1}, read[:1], ownOld, Counts{}, calls(10)},
		{"mark too young to have settled", marked(t0.Add(50 * time.Second)), read[:1], nil, Counts{}, calls(10)},
		// Calls made knowing the mark count from the mark's own bucket on, settled or not yet: they
		// are a sample of the fleet's calls since the mark that does not depend on their outcomes.
		{
			"a young mark's settled calls are the recent span", marked(t0.Add(52 * time.Second)),
			[]BucketCounts{bucket(45*time.Second, Counts{Calls: 3, Failures: 1}), settledBucket(52*time.Second, Counts{Calls: 14, Failures: 12}, Counts{Calls: 11, Failures: 10})}, nil, Counts{},
			FleetCounts{Window: Counts{Calls: 17}, Recent: Counts{Calls: 11, Failures: 10}},
		},
		// Settled from 12s (mark at 5s + 7s): the 200 settled calls are the recent span; the window
		// before them is not estimated, so its rates do not decide.
		{"settled calls are the recent span", marked(t0.Add(5 * time.Second)), read, ownOld, Counts{}, FleetCounts{Window: Counts{Calls: 210}, Recent: Counts{Calls: 200}}},
		{
			"only the settled part of the bucket the mark settled in", marked(t0.Add(5 * time.Second)),
			[]BucketCounts{settledBucket(15*time.Second, Counts{Calls: 30, Failures: 10}, Counts{Calls: 12, Failures: 10})}, nil, Counts{},
			FleetCounts{Window: Counts{Calls: 30}, Recent: Counts{Calls: 12, Failures: 10}},
		},
		{"own calls count towards the calls known", marked(t0.Add(5 * time.Second)), read[:1], []BucketCounts{bucket(50*time.Second, Counts{Calls: 40})}, Counts{}, calls(40)},
		{"mark lapsed", marked(t0.Add(-2 * time.Minute)), read, nil, Counts{}, calls(210)},
		// Marked long enough ago that it settled before the window began: every call is known.
		{"settled before the window: the window decides", extended(marked(t0.Add(-10 * time.Second))), []BucketCounts{settledBucket(5*time.Second, Counts{Calls: 10, Failures: 6}, Counts{Calls: 10, Failures: 6})}, nil, Counts{},
			FleetCounts{Window: Counts{Calls: 10, Failures: 6}, Recent: Counts{Calls: 10, Failures: 6}}},
		// Closed at 20s, the mark settled before: the calls since the close are all known.
		{
			"closed after the mark settled", Circuit{ID: cid, State: Closed, Version: 5, Since: t0.Add(20 * time.Second), BadSince: t0.Add(5 * time.Second), BadUntil: t0.Add(65 * time.Second)},
			read, nil, Counts{}, FleetCounts{Window: Counts{Calls: 200}, Recent: Counts{Calls: 200}},
		},
		{
			"own calls of the last moments are left out", marked(t0.Add(5 * time.Second)),
			[]BucketCounts{settledBucket(40*time.Second, Counts{Calls: 6, Failures: 1}, Counts{Calls: 6, Failures: 1}), settledBucket(50*time.Second, Counts{Calls: 14, Failures: 10}, Counts{Calls: 14, Failures: 10})},
			[]BucketCounts{settledBucket(50*time.Second, Counts{Calls: 10, Failures: 9}, Counts{Calls: 10, Failures: 9})},
			Counts{Calls: 10, Failures: 9},
			FleetCounts{Window: Counts{Calls: 10}, Recent: Counts{Calls: 10, Failures: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.FleetWindow(tt.c, tt.read, tt.own, tt.recent, settle, now); got != tt.want {
				t.Fatalf("FleetWindow = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFleetWindowNeverEstimates is issue 19's fan-out: 200 one-call environments at 10 %, written
// (their failures, at once) before anyone knew the mark, then one environment's quiet calls. The
// window's 20 failures are never divided by an estimate of the calls made before the mark settled.
func TestFleetWindowNeverEstimates(t *testing.T) {
	p := DefaultPolicy()
	settle := Settle(5*time.Second, time.Second, 500*time.Millisecond)
	c := Circuit{ID: cid, State: Closed, Version: 2, Since: t0.Add(-time.Hour), BadSince: t0, BadUntil: t0.Add(p.Window)}
	for after := settle; after < p.Window; after += time.Second {
		now := t0.Add(after)
		quiet := int64((after - settle).Seconds())
		read := []BucketCounts{{Start: p.BucketStart(t0), Counts: Counts{Calls: 20, Failures: 20}}}
		read = append(read, BucketCounts{Start: p.BucketStart(now), Counts: Counts{Calls: quiet, Failures: quiet / 10}, Settled: Counts{Calls: quiet, Failures: quiet / 10}})
		w := p.FleetWindow(c, read, nil, Counts{}, settle, now)
		if r := Observe(c, Observation{Window: w.Window, Recent: w.Recent}, p, now); r.Transition.Happened() {
			t.Fatalf("%s after the fan-out: tripped on %+v: %s", after, w, r.Transition.Reason)
		}
	}
}

// TestFleetWindowRatesTheWholeWindow: a provider failing 55 % of calls (too close to the threshold
// for the settled calls to prove it on a lower bound) trips on the window's rate once every call of
// the window is known, and not on the incident's first settled calls however they look.
func TestFleetWindowRatesTheWholeWindow(t *testing.T) {
	p := DefaultPolicy()                                               // 50 %, 10 calls, 60s window
	settle := Settle(5*time.Second, time.Second, 500*time.Millisecond) // 7s
	mark := t0.Add(60 * time.Second)
	// Failures go on, so the mark is extended a window on from each (MarkBad), keeping BadSince.
	c := Circuit{ID: cid, State: Closed, Version: 3, Since: t0.Add(-time.Hour), BadSince: mark, BadUntil: mark.Add(2 * p.Window)}
	// 4 calls a second, 55 % failing, from the mark on; healthy (and unwritten) before it. Calls
	// from the mark are written (the failing ones at once); those from mark + settle are settled too.
	failingSince := func(now time.Time) []BucketCounts {
		span := func(from, to time.Time) Counts {
			n := int64(4 * to.Sub(from).Seconds())
			return Counts{Calls: max(n, 0), Failures: max(n*55/100, 0)}
		}
		var out []BucketCounts
		for _, start := range p.WindowBuckets(now) {
			later := func(a, b time.Time) time.Time {
				if a.After(b) {
					return a
				}
				return b
			}
			end := start.Add(p.BucketWidth())
			if end.After(now) {
				end = now
			}
			from, settled := later(start, mark), later(start, mark.Add(settle))
			if end.After(from) {
				out = append(out, BucketCounts{Start: start, Counts: span(from, end), Settled: span(settled, end)})
			}
		}
		return out
	}
	for _, tt := range []struct {
		after time.Duration
		trips bool
	}{
		{10 * time.Second, false}, // 12 settled calls at 55 %
		{25 * time.Second, false},
		{45 * time.Second, false}, // the reference's window still holds 15s of healthy calls
		{59 * time.Second, false}, // the mark settled after the window's oldest bucket began
		{61 * time.Second, true},  // every call of the window is known, and 55 % fail
	} {
		now := mark.Add(tt.after)
		w := p.FleetWindow(c, failingSince(now), nil, Counts{}, settle, now)
		tripped := Observe(c, Observation{Window: w.Window, Recent: w.Recent}, p, now).Transition.Happened()
		if tripped != tt.trips {
			t.Errorf("%s after the mark: window %+v trips = %v, want %v", tt.after, w, tripped, tt.trips)
		}
	}
}

// TestFleetWindowKeepsTheTwoEnvironmentCaseClosed is issue 12's case as the model sees it: B's 5
// failures in 10 calls never trip while A's 200 successes are in the window, and the run rule is off.
func TestFleetWindowKeepsTheTwoEnvironmentCaseClosed(t *testing.T) {
	p := DefaultPolicy()
	settle := Settle(5*time.Second, time.Second, 500*time.Millisecond)
	c := Circuit{ID: cid, State: Closed, Version: 1, Since: t0.Add(-time.Hour), ConsecutiveFailures: 5}
	for _, now := range []time.Time{t0.Add(time.Second), t0.Add(20 * time.Second), t0.Add(50 * time.Second)} {
		c.BadSince, c.BadUntil = t0, t0.Add(p.Window)
		read := []BucketCounts{{Start: p.BucketStart(t0), Counts: Counts{Calls: 210, Failures: 5}}}
		w := p.FleetWindow(c, read, []BucketCounts{{Start: p.BucketStart(t0), Counts: Counts{Calls: 10, Failures: 5}}}, Counts{}, settle, now)
		if r := Observe(c, Observation{Window: w.Window, Recent: w.Recent}, p, now); r.Transition.Happened() {
			t.Fatalf("at %s: tripped on %+v: %s", now.Sub(t0), w, r.Transition.Reason)
		}
	}
}

func TestMarkBad(t *testing.T) {
	p := DefaultPolicy()
	c, changed := p.MarkBad(Circuit{ID: cid}, t0)
	if !changed || !c.BadSince.Equal(t0) || !c.BadUntil.Equal(t0.Add(p.Window)) {
		t.Fatalf("first mark: %v %+v", changed, c)
	}
	if _, changed := p.MarkBad(c, t0.Add(20*time.Second)); changed {
		t.Fatal("a mark with 40s of 60s to run was rewritten")
	}
	c2, changed := p.MarkBad(c, t0.Add(40*time.Second))
	if !changed || !c2.BadSince.Equal(t0) || !c2.BadUntil.Equal(t0.Add(100*time.Second)) {
		t.Fatalf("refresh keeps BadSince and extends BadUntil: %v %+v", changed, c2)
	}
	c3, _ := p.MarkBad(c, t0.Add(5*time.Minute))
	if !c3.BadSince.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("a lapsed mark starts again: %+v", c3)
	}
}

// TestAware: a call counts as settled when it started once its environment held a copy carrying the
// live mark, whatever it took or how it went; not before, and not once the mark has lapsed.
func TestAware(t *testing.T) {
	p := DefaultPolicy()
	c := Circuit{ID: cid, State: Closed, Version: 2, BadSince: t0, BadUntil: t0.Add(p.Window)}
	seen := t0.Add(3 * time.Second)
	tests := []struct {
		name       string
		c          Circuit
		seen       time.Time
		start, now time.Time
		want       bool
	}{
		{"started after the mark was seen", c, seen, seen.Add(time.Millisecond), seen.Add(100 * time.Millisecond), true},
		{"started as it was seen", c, seen, seen, seen.Add(100 * time.Millisecond), true},
		{"a slow call that started after", c, seen, seen.Add(time.Second), seen.Add(4 * time.Second), true},
		{"started before the mark was seen, though reported after", c, seen, seen.Add(-time.Millisecond), seen.Add(2 * time.Second), false},
		{"mark never seen", c, time.Time{}, seen, seen.Add(time.Second), false},
		{"no mark", Circuit{ID: cid, State: Closed, Version: 1}, seen, seen.Add(time.Second), seen.Add(2 * time.Second), false},
		{"mark lapsed by the report", c, seen, seen.Add(time.Second), t0.Add(p.Window), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Aware(tt.c, tt.seen, tt.start, tt.now); got != tt.want {
				t.Fatalf("Aware = %v, want %v", got, tt.want)
			}
		})
	}
}
