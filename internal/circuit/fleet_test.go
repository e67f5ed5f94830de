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
	ownOld := []BucketCounts{bucket(5*time.Second, Counts{Calls: 10, Failures: 5})}
	tests := []struct {
		name   string
		c      Circuit
		read   []BucketCounts
		own    []BucketCounts
		recent Counts
		want   Counts
	}{
		// Issue 12's case: B's own 10 calls at 50 %, nothing settled: B must not trip on them alone.
		{"no mark: rates undecided, calls known", Circuit{ID: cid, State: Closed, Version: 1}, read[:1], ownOld, Counts{}, Counts{Calls: 10}},
		{"mark too young to have settled", marked(t0.Add(50 * time.Second)), read[:1], nil, Counts{}, Counts{Calls: 10}},
		{"settled buckets decide", marked(t0.Add(5 * time.Second)), read, ownOld, Counts{}, Counts{Calls: 200}},
		{"settled calls below minimum calls", marked(t0.Add(5 * time.Second)), []BucketCounts{bucket(5*time.Second, Counts{Calls: 9, Failures: 9}), settledBucket(25*time.Second, Counts{Calls: 3, Failures: 3}, Counts{Calls: 3, Failures: 3})}, nil, Counts{}, Counts{Calls: 12}},
		{
			"only the settled part of the bucket the mark settled in", marked(t0.Add(5 * time.Second)),
			[]BucketCounts{settledBucket(15*time.Second, Counts{Calls: 30, Failures: 10}, Counts{Calls: 12, Failures: 10})}, nil, Counts{},
			Counts{Calls: 12, Failures: 10},
		},
		{"own calls count towards the calls known", marked(t0.Add(5 * time.Second)), read[:1], []BucketCounts{bucket(50*time.Second, Counts{Calls: 40})}, Counts{}, Counts{Calls: 40}},
		{"mark lapsed", marked(t0.Add(-2 * time.Minute)), read, nil, Counts{}, Counts{Calls: 210}},
		{
			"own calls of the last moments are left out", marked(t0.Add(5 * time.Second)),
			[]BucketCounts{settledBucket(40*time.Second, Counts{Calls: 6, Failures: 1}, Counts{Calls: 6, Failures: 1}), settledBucket(50*time.Second, Counts{Calls: 14, Failures: 10}, Counts{Calls: 14, Failures: 10})},
			[]BucketCounts{settledBucket(50*time.Second, Counts{Calls: 10, Failures: 9}, Counts{Calls: 10, Failures: 9})},
			Counts{Calls: 10, Failures: 9},
			Counts{Calls: 10, Failures: 2},
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
		if r := Observe(c, Observation{Window: w}, p, now); r.Transition.Happened() {
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
