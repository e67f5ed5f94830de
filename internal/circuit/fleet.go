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
// one a single process seeing every call of the fleet would make (the README's flush rule). read is
// the window as read from the store (plus this environment's writes since); own is this
// environment's own calls per bucket, written or not.
//
// Healthy environments write nothing until they see the circuit's bad-window mark, so the read window
// overstates the failure rate until the mark has settled. The calls made after it settled are counted
// apart (BucketCounts.Settled) by environments that all know the mark, so they are the fleet's calls
// (but the last flush interval's, which are on their way); when they reach minimum calls, the rates
// decide on them. ownRecent, this environment's own settled calls of the last flush interval and store
// call, are left out, as the other environments' calls of that span may still be on their way, so the
// decider's own latest calls never outweigh theirs.
//
// Otherwise the rates cannot decide yet: the result carries the most calls known to be in the window
// (read, own or settled) and no failures, so only the low-traffic consecutive-failures rule can act,
// and only while fewer than minimum calls are known anywhere.
func (p Policy) FleetWindow(c Circuit, read, own []BucketCounts, ownRecent Counts, settle time.Duration, now time.Time) Counts {
	all := p.SumWindow(read, c.Since, now)
	mine := p.SumWindow(own, c.Since, now)
	var settled Counts
	if from, ok := p.settledFrom(c, settle, now); ok {
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
	if settled.Calls >= p.MinCalls {
		return settled
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
