package fleetsim

import (
	"slices"
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// reference is one process that sees every call of the fleet and applies the policy with the
// circuit model directly: its window holds every call made while CLOSED, it asks the model at
// every reported outcome, and it needs no DynamoDB.
type reference struct {
	p       circuit.Policy
	clk     *clock
	c       circuit.Circuit
	buckets []circuit.BucketCounts // oldest first
	recent  []stampedOutcome       // the calls of the last RecentSpan while CLOSED, oldest first
	permits map[int]string
	passed  map[int]bool // calls counted as slow as they passed the threshold (pass)
	trip    time.Time
	why     string
	seq     int
}

func newReference(p circuit.Policy, clk *clock, id string, since time.Time) *reference {
	return &reference{p: p, clk: clk, permits: map[int]string{}, passed: map[int]bool{},
		c: circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: since, Reason: "existing"}}
}

func (r *reference) invoke(int) {}
func (r *reference) tick(int)   {}
func (r *reference) done(int)   {}

func (r *reference) acquire(i int, _ *call) bool {
	now := r.clk.Now()
	r.seq++
	permit := "p" + strconv.Itoa(r.seq)
	res, d := circuit.Acquire(r.c, permit, r.p, now)
	r.apply(res)
	if d.Permit != "" {
		r.permits[i] = d.Permit
	}
	return d.Allowed
}

func (r *reference) report(i int, c *call) {
	now := r.clk.Now()
	o := circuit.Outcome{OK: !c.fail, Latency: c.latency, Permit: r.permits[i]}
	delete(r.permits, i)
	obs := circuit.Observation{Outcomes: []circuit.Outcome{o}}
	if r.c.State == circuit.Closed && r.c.Override == circuit.NoOverride {
		if r.passed[i] {
			// Counted as a slow call as it passed the threshold: only a failure is new.
			if !o.OK {
				r.addFailure(now, i)
			}
		} else {
			r.add(now, o)
			r.insert(now.Add(-o.Latency), o, i)
		}
		obs.Window = r.p.SumWindow(r.buckets, r.c.Since, now)
		obs.Recent = r.recentCounts(now)
	}
	delete(r.passed, i)
	r.apply(circuit.Observe(r.c, obs, r.p, now))
}

// pass counts call i, still under way, as a slow call once it has run past the threshold, as the
// extension does (extension/internal/breaker, running.go): the policy judges a slow call when it is
// known to be slow, not when it ends.
func (r *reference) pass(i int, c *call) {
	if r.c.State != circuit.Closed || r.c.Override != circuit.NoOverride {
		return
	}
	now := r.clk.Now()
	o := circuit.Outcome{OK: true, Latency: now.Sub(c.at)}
	r.passed[i] = true
	r.add(now, o)
	r.insert(c.at, o, i)
	obs := circuit.Observation{Window: r.p.SumWindow(r.buckets, r.c.Since, now), Recent: r.recentCounts(now)}
	r.apply(circuit.Observe(r.c, obs, r.p, now))
}

// add counts o in the bucket of now, dropping buckets that left the window.
func (r *reference) add(now time.Time, o circuit.Outcome) {
	r.bucket(now).Record(o, r.p)
}

// addFailure counts the failure of call i, counted before as a slow call, in the bucket of now and in
// the recent calls (if it is still among them).
func (r *reference) addFailure(now time.Time, i int) {
	r.bucket(now).Failures++
	for k := range r.recent {
		if r.recent[k].call == i {
			r.recent[k].o.OK = false
		}
	}
}

// bucket returns the bucket of now, dropping buckets that left the window.
func (r *reference) bucket(now time.Time) *circuit.BucketCounts {
	start := r.p.BucketStart(now)
	if n := len(r.buckets); n == 0 || r.buckets[n-1].Start.Before(start) {
		oldest := start.Add(-r.p.Window)
		keep := r.buckets[:0]
		for _, b := range r.buckets {
			if b.Start.After(oldest) {
				keep = append(keep, b)
			}
		}
		r.buckets = append(keep, circuit.BucketCounts{Start: start})
	}
	return &r.buckets[len(r.buckets)-1]
}

// stampedOutcome is one call the reference saw (call i of the run), and when it started.
type stampedOutcome struct {
	at   time.Time
	o    circuit.Outcome
	call int
}

// insert adds call i, started at at, to the recent calls, in order of start.
func (r *reference) insert(at time.Time, o circuit.Outcome, i int) {
	k := len(r.recent)
	for k > 0 && r.recent[k-1].at.After(at) {
		k--
	}
	r.recent = slices.Insert(r.recent, k, stampedOutcome{at: at, o: o, call: i})
}

// recentCounts counts the recent calls started in the last RecentSpan since the circuit last changed
// state. A call belongs to the span by when it started, not when it ended: by its end, a span would
// hold the slow calls of a burst after the burst's fast calls had left it, and show a fan-out failing
// 25 % slowly as failing 70 %. A call still in flight is not counted until it ends or passes the
// slow-call threshold.
func (r *reference) recentCounts(now time.Time) circuit.Counts {
	from := now.Add(-r.p.Recent())
	drop := 0
	for drop < len(r.recent) && (!r.recent[drop].at.After(from) || r.recent[drop].at.Before(r.c.Since)) {
		drop++
	}
	r.recent = r.recent[drop:]
	outs := make([]circuit.Outcome, len(r.recent))
	for i, s := range r.recent {
		outs[i] = s.o
	}
	return r.p.RecentCounts(outs)
}

func (r *reference) apply(res circuit.Result) {
	if res.Changed {
		r.c = res.Circuit
	}
	if res.Transition.To == string(circuit.Open) && r.trip.IsZero() {
		r.trip, r.why = r.clk.Now(), res.Transition.Reason
	}
}

func (r *reference) tripped() (time.Time, string) { return r.trip, r.why }
func (r *reference) io() (int64, int64)           { return 0, 0 }
