package circuit

import (
	"math"
	"time"
)

// extrapolate returns the window one process seeing every call of the fleet would hold, estimated
// from settled, the calls every environment made from start to now (all of them, as everyone knew
// the bad-window mark by then).
//
// The window also spans [windowStart, start): calls no environment was bound to write. Before the
// circuit's mark (BadSince) they were healthy: a failure or a slow call anywhere would have set the
// mark. From the mark on, they went as the settled calls go. So the unseen span is filled at the
// settled calls' rate per second, healthy before the mark and failing and slow at the settled rates
// after it. While the fleet's call rate and the provider's failure rate are steady, the failure rate
// this gives is the settled rate times the share of the window since the mark, which is what the
// reference's window shows: a young mark's first few settled calls can no longer trip the circuit on
// their own (10 calls at 25 % show 50 % now and then), while a window that is failing throughout
// decides on its settled calls alone. FleetWindow takes the calls from it and the failures and slow
// calls from the window read, which holds them all.
func (p Policy) extrapolate(c Circuit, settled Counts, start, now time.Time) Counts {
	windowStart := p.WindowBuckets(now)[0]
	// The reference's window holds only the calls made since the circuit closed. A circuit created by
	// the very write that marked it (Since equal to BadSince) was CLOSED before it had an item: the
	// calls before that were healthy too.
	if c.Since.After(windowStart) && !c.Since.Equal(c.BadSince) {
		windowStart = c.Since
	}
	covered := now.Sub(start)
	if !start.After(windowStart) || covered <= 0 || settled.Calls <= 0 {
		return settled
	}
	markedFrom := windowStart
	if c.BadSince.After(markedFrom) {
		markedFrom = c.BadSince
	}
	perSecond := float64(settled.Calls) / covered.Seconds()
	unseen := perSecond * start.Sub(windowStart).Seconds()
	unseenMarked := perSecond * max(start.Sub(markedFrom), 0).Seconds()
	// Failures and slow calls are rounded down, calls to the nearest: rounding never makes the
	// estimate worse than the settled calls.
	share := func(n int64) int64 {
		return n + int64(math.Floor(unseenMarked*float64(n)/float64(settled.Calls)))
	}
	return Counts{
		Calls:    settled.Calls + int64(math.Round(unseen)),
		Failures: share(settled.Failures),
		Slow:     share(settled.Slow),
	}
}
