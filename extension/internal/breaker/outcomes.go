package breaker

import (
	"context"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Outcome is one reported call.
type Outcome struct {
	OK      bool
	Latency time.Duration
	// Permit is the half-open permit the call was made under, if any.
	Permit string
	// Call is the call's name from Acquire (Decision.Call), if the caller passed it back.
	Call string
	// Err classifies a failure ("timeout", "status 503"), for the circuit's reason.
	Err string
	// Cancelled says the call named by Call (or Permit) was not made, or was cancelled by its
	// caller: it counts nothing, and is no longer under way (a probe's permit is given back). OK,
	// Latency and Err are then unset.
	Cancelled bool
}

// buffer is one circuit's outcomes not flushed yet.
type buffer struct {
	// buckets holds counts per window bucket start (unix seconds) not written yet.
	buckets map[int64]tally
	// own holds this environment's own counts per bucket start, written or not, for as long as the
	// bucket is in the window (circuit.Policy.FleetWindow).
	own map[int64]tally
	// unsent are counter writes whose answer never came: they may have landed, so they are retried as
	// they are (same sequence number, same counts) and the store counts them once.
	unsent []store.CountsWrite
	// bad is set once the buffer holds a failure or a slow call not judged yet; overdue once it holds
	// calls counted as slow as they passed the threshold (countOverdue), not written yet: the
	// background flusher writes those although calls are under way (deferred), as no report of
	// them is coming.
	bad, overdue bool
	// consec is the current run of failures; peak the longest run since the last decision; judged
	// the run's length at the last decision (0 once a success ends the run). They are this
	// environment's own and never written.
	consec, peak, judged int
	// recent are this environment's settled calls of the last moments, by when they were reported:
	// the other environments' calls of that span may still be on their way to the store, so a
	// decision leaves these out too (circuit.Policy.FleetWindow).
	recent []stamped
	// started is when the calls of the last report started (its earliest): the report path holds
	// them back only when they started less than a flush interval after its last write, which does
	// not depend on how they went (see Breaker.reportHeld).
	started time.Time
	// permits are outcomes with a permit whose trial could not be written yet.
	permits []circuit.Outcome
	// redecide is set when a decision is owed: counts were written but the decision after them was
	// not, or it was put off until more of the fleet's calls are known (not before redecideAt).
	redecide   bool
	redecideAt time.Time
}

// stamped are counts reported at one time.
type stamped struct {
	at time.Time
	c  circuit.Counts
}

// tally is one bucket's counts, and the part of them made once the circuit's bad-window mark had
// settled (circuit.BucketCounts.Settled).
type tally struct{ all, settled circuit.Counts }

func (t tally) add(o tally) tally {
	return tally{all: t.all.Add(o.all), settled: t.settled.Add(o.settled)}
}

func newBuffer() *buffer {
	return &buffer{buckets: map[int64]tally{}, own: map[int64]tally{}}
}

func (p *buffer) calls() int64 { return callsIn(p.buckets, p.unsent) }

// callsIn counts the calls of buckets not written yet and of writes to retry.
func callsIn(buckets map[int64]tally, unsent []store.CountsWrite) int64 {
	var n int64
	for _, c := range buckets {
		n += c.all.Calls
	}
	for _, w := range unsent {
		n += w.Counts.Calls
	}
	return n
}

// Report takes outcomes of calls to circuit id. They are counted in memory for the next flush;
// outcomes that carry a permit settle their half-open trial at once (a conditional write), and are
// kept for the next flush if that write fails.
func (b *Breaker) Report(ctx context.Context, id string, outs []Outcome) {
	if hasCancelled(outs) {
		b.cancel(ctx, id, outs)
		outs = withoutCancelled(outs)
	}
	if len(outs) == 0 {
		return
	}
	now := b.now()
	// The circuit as of at most a cache TTL ago (a read only when the copy is older, as Acquire
	// would make): its bad-window mark, and since when this environment has known it, say which of
	// these calls count as settled (circuit.Aware: those that started once it knew the mark).
	e, ok := b.cache.Peek(id)
	if !ok || !now.Before(e.FreshUntil) {
		if res, err := b.cache.Get(ctx, id); err == nil {
			e, ok = res.Entry, true
		}
	}
	var cached *circuit.Circuit
	if ok && e.Found {
		cached = &e.Circuit
	}
	p := b.opt.Policy
	if cached != nil {
		p = b.policyFor(*cached)
	}
	// Only a CLOSED circuit (or one that does not exist yet) decides anything from counts: outcomes
	// seen while OPEN belong to calls started earlier, and in HALF_OPEN only permits are trials.
	counts := cached == nil || (cached.State == circuit.Closed && cached.Override == circuit.NoOverride)
	var trials []circuit.Outcome
	bucket := p.BucketStart(now).Unix()

	b.mu.Lock()
	buf := b.pending[id]
	if buf == nil {
		buf = newBuffer()
		b.pending[id] = buf
	}
	// The report's calls share one bucket and one time: they are tallied here, then added to the
	// buffer's maps once rather than once per call.
	var sum tally
	fresh := 0 // outcomes of calls not counted yet (a slow call under way was counted as it passed)
	buf.started = now
	for _, o := range outs {
		start := now
		if o.Latency > 0 {
			start = now.Add(-o.Latency)
		}
		r, known := b.untrack(id, o, now)
		if known {
			start = r.start
		}
		if !r.counted {
			fresh++
		}
		if start.Before(buf.started) {
			buf.started = start
		}
		co := circuit.Outcome{OK: o.OK, Latency: o.Latency, Permit: o.Permit, Err: o.Err}
		if o.Permit != "" {
			trials = append(trials, co)
		}
		if !counts {
			continue
		}
		switch {
		case r.counted:
			// Counted as a slow call as it passed the threshold (countOverdue): only a failure is
			// new, counted where the call was (settled or not).
			if !o.OK {
				sum.all.Failures++
				if r.settled {
					sum.settled.Failures++
				}
			}
		default:
			sum.all.Record(co, p)
			if cached != nil && circuit.Aware(*cached, e.MarkSeenAt, start, now) {
				sum.settled.Record(co, p)
			}
		}
		if !o.OK || (o.Latency > p.SlowCall && !r.counted) {
			buf.bad = true // a slow call counted as it passed was judged then
		}
		if o.OK {
			buf.consec, buf.judged = 0, 0
		} else {
			buf.consec++
			buf.peak = max(buf.peak, buf.consec)
		}
	}
	b.returned(id, fresh)
	if !sum.all.IsZero() {
		buf.add(bucket, sum, now)
	}
	b.mu.Unlock()
	b.stats.received.Add(int64(len(outs)))

	if len(trials) > 0 {
		if err := b.settleTrials(ctx, id, trials, now); err != nil {
			b.keepTrials(id, trials)
		}
	}
}

// keepTrials puts trials whose write failed back in id's buffer for the next flush. The buffer is
// looked up again: a flush may have taken it out of b.pending while the write was in flight.
func (b *Breaker) keepTrials(id string, trials []circuit.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.pending[id]
	if buf == nil {
		buf = newBuffer()
		b.pending[id] = buf
	}
	buf.permits = append(buf.permits, trials...)
}

// settleTrials applies outcomes that carry permits to a HALF_OPEN circuit with a conditional write:
// a matching permit is released and counted as a trial (closing or reopening the circuit per
// policy); a permit that is not held (its lease ran out) changes nothing.
func (b *Breaker) settleTrials(ctx context.Context, id string, trials []circuit.Outcome, now time.Time) error {
	void := 0 // outcomes whose permit the HALF_OPEN circuit does not hold
	r, err := b.store.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		void = 0
		if !prev.Exists() || prev.State != circuit.HalfOpen || prev.Override != circuit.NoOverride {
			return circuit.Result{Circuit: prev}, nil
		}
		for _, t := range trials {
			if !holdsPermit(&prev, t.Permit, now) {
				void++
			}
		}
		return circuit.Observe(prev, circuit.Observation{Outcomes: trials}, b.policyFor(prev), now), nil
	})
	if err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn("half-open trial not written; kept for the next flush", "circuit", id, "error", err.Error())
		return err
	}
	if void > 0 {
		// The report is accepted (the call happened) but is no trial: say so, or a caller whose
		// probes outlast the lease sees the circuit stay HALF_OPEN without a word.
		b.log.Warn("probe outcome not counted as a trial: its permit is void (its lease ran out, it was reported already, or acquire never gave it)",
			"circuit", id, "outcomes", void, "probeLease", b.policyFor(r.Circuit).ProbeLease.String())
	}
	b.wrote(id, r)
	return nil
}

// holdsPermit reports whether c holds permit with its lease running at now.
func holdsPermit(c *circuit.Circuit, permit string, now time.Time) bool {
	for _, p := range c.Probes {
		if p.Permit == permit && now.Before(p.Until) {
			return true
		}
	}
	return false
}
