package circuit

import "time"

// Settle is how long after a circuit's window is marked bad (Circuit.BadSince) every environment that
// makes a call has flushed what it holds of the window: at most one cache TTL (plus its jitter) to
// read the mark, one flush interval to flush, one store timeout for the write to land.
func Settle(cacheTTL, flushInterval, storeTimeout time.Duration) time.Duration {
	return time.Duration(float64(cacheTTL)*(1+Jitter)) + flushInterval + storeTimeout
}

// settledFrom returns when the circuit's bad-window mark settled: from then on every environment
// that makes a call has read the mark, counts the call as settled (Aware) and writes it within a
// flush interval, so the calls made since are all the fleet's calls. ok is false while the circuit
// carries no live mark.
func (p Policy) settledFrom(c Circuit, settle time.Duration, now time.Time) (from time.Time, ok bool) {
	if c.BadSince.IsZero() || !now.Before(c.BadUntil) {
		return time.Time{}, false
	}
	return c.BadSince.Add(settle), true
}

// Aware reports whether a call counts as settled (BucketCounts.Settled): it started (at start) once
// the environment that made it knew circuit c's live bad-window mark (seen: when it first held a copy
// carrying the mark, zero if it holds none), and was reported at now while the mark is live. Such a
// call is written whatever its outcome, since the environment writes every call while it knows the
// mark; and whether a call counts depends only on what happened before it started (the reads that
// brought the mark, the environment's own earlier failures), never on its own outcome or latency, so
// the settled calls are an unbiased sample of the fleet's calls since the mark, and every call made
// at or after the mark settled (BadSince + settle, when every environment that makes a call has read
// the mark) is in it.
func Aware(c Circuit, seen, start, now time.Time) bool {
	return !c.BadSince.IsZero() && now.Before(c.BadUntil) && !seen.IsZero() && !start.Before(seen) && !seen.Before(c.BadSince)
}

// FleetCounts are what one environment may decide a circuit on (Policy.FleetWindow): the window as
// far as its rates are known to be the fleet's, and a recent span whose every call is known.
type FleetCounts struct {
	// Window is the whole window's counts when every call of it is known; otherwise it carries only
	// the most calls known to be in the window (no failures), for the low-traffic run rule's gate.
	Window Counts
	// Recent are the settled calls since the circuit's bad-window mark (within the window): the
	// calls made by environments that knew the mark when they made them (Aware), all written and an
	// unbiased sample of the fleet's calls since the mark; from the time the mark settled on, every
	// call of the fleet. Zero while no mark is live.
	Recent Counts
}

// FleetWindow returns the counts one environment may decide c on, so that its decision rests only on
// counts that hold every call of the fleet over their span (the flush rule in docs/design.md). read
// is the window as read from the store (plus this environment's writes since); own is this
// environment's own calls per bucket, written or not.
//
// Healthy environments write nothing until they see the circuit's bad-window mark, so the window
// read holds every failure but not every success until the mark has settled (Settle after it): a
// rate over it overstates the failure rate by an amount no one can bound, as any number of healthy
// calls may be missing. The calls an environment made once it knew the mark are counted apart
// (BucketCounts.Settled, Aware): each of them is written, whatever its outcome, and which calls
// count never depends on their own outcome, so they are an unbiased sample of the fleet's calls
// since the mark, and from the time the mark settled on they are all of them (but the last flush
// interval's, which are on their way: ownRecent, this environment's own settled calls of that span,
// are left out, so the decider's own latest calls never outweigh the others'). They are the recent
// span the model judges alone on a lower confidence bound (Policy.RecentReason), and, once the mark
// settled before the window began, the window too.
//
// Nothing is estimated: an earlier version filled the span before the mark settled in from the pace
// of the settled calls, and a fan-out followed by quiet traffic (200 one-call environments, then one
// call a second) divided the fan-out's failures by the quiet pace and tripped a fleet failing 10 %.
func (p Policy) FleetWindow(c Circuit, read, own []BucketCounts, ownRecent Counts, settle time.Duration, now time.Time) FleetCounts {
	all := p.SumWindow(read, c.Since, now)
	mine := p.SumWindow(own, c.Since, now)
	var settled Counts
	whole := false // the settled calls span the whole window
	if from, ok := p.settledFrom(c, settle, now); ok {
		windowStart := p.WindowBuckets(now)[0]
		// The window holds the calls since the circuit last closed (Since), in whole buckets.
		whole = !from.After(windowStart) || (c.Since.After(windowStart) && !from.After(c.Since))
		first := p.BucketStart(c.BadSince)
		if c.Since.After(c.BadSince) {
			first = p.BucketStart(c.Since)
		}
		if first.Before(windowStart) {
			first = windowStart
		}
		for _, b := range read {
			if !b.Start.Before(first) && !b.Start.After(now) {
				settled = settled.Add(b.Settled)
			}
		}
		settled = settled.minus(ownRecent).capped()
	}
	out := FleetCounts{Recent: settled}
	if whole {
		out.Window = settled
	} else {
		out.Window = Counts{Calls: max(all.minus(ownRecent).Calls, mine.Calls, settled.Calls)}
	}
	return out
}

// minus returns c - o, never below zero.
func (c Counts) minus(o Counts) Counts {
	return Counts{Calls: max(c.Calls-o.Calls, 0), Failures: max(c.Failures-o.Failures, 0), Slow: max(c.Slow-o.Slow, 0)}
}

// AtRate reports whether w's failure or slow call rate is at or above its threshold (minimum calls
// aside).
func (p Policy) AtRate(w Counts) bool {
	if w.Calls == 0 {
		return false
	}
	n := float64(w.Calls)
	return float64(w.Failures)/n >= p.FailureRate || float64(w.Slow)/n >= p.SlowCallRate
}

// MarkBad returns c with its window marked bad at now, and whether the mark changed: a live mark with
// more than half a window to run is left alone (so a fleet in an incident rewrites it at most about
// twice a window); a lapsed one starts again at now.
func (p Policy) MarkBad(c Circuit, now time.Time) (Circuit, bool) {
	if now.Before(c.BadUntil) && c.BadUntil.Sub(now) > p.Window/2 {
		return c, false
	}
	if c.BadSince.IsZero() || !now.Before(c.BadUntil) {
		c.BadSince = now
	}
	c.BadUntil = now.Add(p.Window)
	return c, true
}
