package breaker

import (
	"context"
	"time"
)

// A call acquired and then not made, or cancelled by its caller (a Go context cancelled because a
// sibling call failed, a request the function gave up), says nothing of the provider: DESIGN.md
// counts no cancellation. Without a word about it the extension would keep it under way and count it
// as a slow call once it passed the threshold, and a probe's permit would hold HALF_OPEN's slot for a
// whole lease. An outcome {"call":"...","cancelled":true} (or "permit") says so.

// cancelPermitTimeout bounds the write that gives back a cancelled probe's permit.
const cancelPermitTimeout = 2 * time.Second

// hasCancelled reports whether any of outs is a cancellation.
func hasCancelled(outs []Outcome) bool {
	for _, o := range outs {
		if o.Cancelled {
			return true
		}
	}
	return false
}

// withoutCancelled returns the outcomes of outs that are not cancellations, in a new slice.
func withoutCancelled(outs []Outcome) []Outcome {
	kept := make([]Outcome, 0, len(outs))
	for _, o := range outs {
		if !o.Cancelled {
			kept = append(kept, o)
		}
	}
	return kept
}

// cancel takes the cancelled calls of circuit id out of the calls under way, counting nothing, and
// gives back the permits of cancelled probes. A call is found by its name only (a cancellation has
// no latency to match a start by); one that already passed the slow-call threshold was counted as
// slow then, and stays counted: it was slow before it was cancelled. A permit is given back with a
// conditional write bounded by cancelPermitTimeout and ctx's deadline; one the circuit no longer
// holds changes nothing.
func (b *Breaker) cancel(ctx context.Context, id string, outs []Outcome) {
	now := b.now()
	var permits []string
	b.mu.Lock()
	for _, o := range outs {
		if !o.Cancelled {
			continue
		}
		if o.Permit != "" {
			permits = append(permits, o.Permit)
		}
		calls := b.running[id]
		n, named := callNumber(o.Call)
		r, held := calls[n]
		if named && held {
			delete(calls, n)
			b.nRunning--
			if len(calls) == 0 {
				delete(b.running, id)
			}
		}
		if !r.counted {
			b.returned(id, 1) // no report of it is coming: the background flusher need not wait
		}
		b.stats.received.Add(1)
	}
	b.mu.Unlock()
	for _, permit := range permits {
		b.givePermitBack(ctx, id, permit, now)
	}
}

// givePermitBack releases a probe permit its holder will not use, within cancelPermitTimeout and
// ctx's deadline: left alone, the permit keeps HALF_OPEN's probe slot until its lease ends.
func (b *Breaker) givePermitBack(ctx context.Context, id, permit string, now time.Time) {
	b.releasePermit(ctx, id, permit, now, cancelPermitTimeout,
		"cancelled probe's permit not given back; it lapses with its lease", "cancelled probe's permit given back")
}
