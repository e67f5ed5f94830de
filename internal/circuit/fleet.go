package circuit

import "time"

// Settle is how long after a circuit's window is marked bad (Circuit.BadSince) every environment that
// makes a call has flushed what it holds of the window: at most one cache TTL (plus its jitter) to
// read the mark, one flush interval to flush, one store timeout for the write to land.
func Settle(cacheTTL, flushInterval, storeTimeout time.Duration) time.Duration {
	return time.Duration(float64(cacheTTL)*(1+Jitter)) + flushInterval + storeTimeout
}

// settledFrom returns when the circuit's bad-window mark settled: from then on every environment
// that makes a call knows the mark, counts the call as settled (BucketCounts.Settled) and writes it
// within a flush interval. ok is false while the circuit carries no live mark.
func (p Policy) settledFrom(c Circuit, settle time.Duration, now time.Time) (from time.Time, ok bool) {
	if c.BadSince.IsZero() || !now.Before(c.BadUntil) {
		return time.Time{}, false
	}
	return c.BadSince.Add(settle), true
}

// Settled reports whether a call made at t to circuit c, CLOSED with a live mark, counts as settled.
func (p Policy) Settled(c Circuit, settle time.Duration, t time.Time) bool {
	from, ok := p.settledFrom(c, settle, t)
	return ok && !t.Before(from)
}

// FleetWindow returns the window counts one environment may decide c on, so that its decision is the
// one a single process seeing every call of the fleet would make (the flush rule in docs/design.md). read is
// the window as read from the store (plus this environment's writes since); own is this
// environment's own calls per bucket, written or not.
//
// Healthy environments write nothing until they see the circuit's bad-window mark, so the read window
// overstates the failure rate until the mark has settled. The calls made after it settled are counted
// apart (BucketCounts.Settled) by environments that all know the mark, so they are the fleet's calls
// (but the last flush interval's, which are on their way); when they reach minimum calls, the rates
// decide on them. ownRecent, this environment's own settled calls of the last flush interval and store
// call, are left out, as the other environments' calls of that span may still be on their way, so the
// decider's own latest calls never outweigh theirs. The span of the window before the mark settled
// is filled in from them (extrapolate), so the rates are those of the whole window, as the reference
// sees it, not only of the incident's first calls.
//
// The settled calls decide alone when they show the failure or slow-call rate above its threshold
// beyond reasonable doubt (clearlyAtRate): a provider failing most calls trips as soon as enough
// settled calls show it, without waiting for the estimate of the span before them, which can be off
// by a burst of calls on bursty traffic.
//
// The rates also decide, on the same estimate, once the settled calls have covered a span as long as
// settle, however few they are: every call of that span is known, so a fleet that went quiet after a
// burst of failures (few or no settled calls, the failures all written) trips as the reference would,
// instead of waiting for calls that may never come.
//
// Otherwise the rates cannot decide yet: the result carries the most calls known to be in the window
// (read, own or settled) and no failures, so only the low-traffic consecutive-failures rule can act,
// and only while fewer than minimum calls are known anywhere.
func (p Policy) FleetWindow(c Circuit, read, own []BucketCounts, ownRecent Counts, settle time.Duration, now time.Time) Counts {
	all := p.SumWindow(read, c.Since, now)
	mine := p.SumWindow(own, c.Since, now)
	var settled Counts
	var from time.Time
	observed := false // the settled calls cover a span as long as settle: their pace is known
	if f, ok := p.settledFrom(c, settle, now); ok {
		from = f
		observed = now.Sub(f) >= settle
		if c.Since.After(from) {
			from = c.Since
		}
		first := p.BucketStart(from)
		if oldest := p.WindowBuckets(now)[0]; oldest.After(first) {
			first = oldest
		}
		for _, b := range read {
			if !b.Start.Before(first) && !b.Start.After(now) {
				settled = settled.Add(b.Settled)
			}
		}
		settled = settled.minus(ownRecent)
	}
	if settled.Calls >= p.MinCalls || observed {
		if p.clearlyAtRate(settled) {
			return settled // the settled calls alone prove the rate above its threshold
		}
		// Failures and slow calls are never held back (a buffer holding one is flushed at once), so
		// the window read has them all: only the calls need the estimate.
		known := all.minus(ownRecent)
		if n := max(known.Calls, mine.Calls, settled.Calls); n < p.MinCalls {
			// Fewer real calls than minimum calls: the rates do not decide on an estimate, and the
			// low-traffic run rule stays on.
			return Counts{Calls: n}
		}
		est := p.extrapolate(c, settled, from, now)
		return Counts{Calls: max(est.Calls, known.Calls, mine.Calls), Failures: known.Failures, Slow: known.Slow}
	}
	return Counts{Calls: max(all.Calls, mine.Calls, settled.Calls)}
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
