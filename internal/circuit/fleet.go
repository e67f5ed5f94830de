package circuit

import "time"

// Settle is how long after a circuit's window is marked bad (Circuit.BadSince) every environment that
// makes a call has flushed what it holds of the window: at most one cache TTL (plus its jitter) to
// read the mark, one flush interval to flush, one store timeout for the write to land.
func Settle(cacheTTL, flushInterval, storeTimeout time.Duration) time.Duration {
	return time.Duration(float64(cacheTTL)*(1+Jitter)) + flushInterval + storeTimeout
}

// settledFrom returns the start of the first window bucket whose calls every environment has
// flushed: the first bucket that starts settle or more after the mark was set. ok is false while
// the circuit carries no live mark (nothing is known to have been flushed but failing buffers).
func (p Policy) settledFrom(c Circuit, settle time.Duration, now time.Time) (from time.Time, ok bool) {
	if c.BadSince.IsZero() || !now.Before(c.BadUntil) {
		return time.Time{}, false
	}
	t := c.BadSince.Add(settle)
	from = p.BucketStart(t)
	if from.Before(t) {
		from = from.Add(p.BucketWidth())
	}
	return from, true
}

// FleetWindow returns the window counts one environment may decide c on, so that its decision is the
// one a single process seeing every call of the fleet would make (the README's flush rule). read is
// the window as read from the store (plus this environment's writes since); own is this
// environment's own calls per bucket, written or not.
//
// Healthy environments write nothing until they see the circuit's bad-window mark, so the read window
// overstates the failure rate until the mark has settled. Only the buckets that start settle or more
// after the mark was set hold every environment's calls (but the last flush interval's, which are on
// their way); when they hold minimum calls, the rates decide on them. This environment's own calls in
// the current bucket are left out of it, as the other environments' latest calls still are, so the
// decider's own latest calls never outweigh theirs.
//
// Otherwise the rates cannot decide yet: the result carries the most calls known to be in the window
// (read, own or settled) and no failures, so only the low-traffic consecutive-failures rule can act,
// and only while fewer than minimum calls are known anywhere.
func (p Policy) FleetWindow(c Circuit, read, own []BucketCounts, settle time.Duration, now time.Time) Counts {
	all := p.SumWindow(read, c.Since, now)
	mine := p.SumWindow(own, c.Since, now)
	var settled Counts
	if from, ok := p.settledFrom(c, settle, now); ok {
		if c.Since.After(from) {
			from = c.Since
		}
		settled = p.SumWindow(read, from, now)
		cur := p.BucketStart(now)
		if !cur.Before(from) {
			for _, b := range own {
				if b.Start.Equal(cur) {
					settled = settled.minus(b.Counts)
				}
			}
		}
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
