package breaker

import (
	"context"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// windowRead is the answer of a window read made beside a flush's counter writes.
type windowRead struct {
	buckets []circuit.BucketCounts
	err     error
}

// readDue reports whether deciding on circuit id now will read its window: the circuit, as cached,
// is CLOSED (or not yet known) and the window copy is older than the decision may use
// (copyStale, freshFor). A decision that returns before it looks at the window does not read.
func (b *Breaker) readDue(id string, now time.Time, report bool) bool {
	var c circuit.Circuit
	if e, ok := b.cache.Peek(id); ok && e.Found {
		c = e.Circuit
		if c.Override != circuit.NoOverride || c.State != circuit.Closed {
			return false
		}
	}
	b.mu.Lock()
	wc := b.windows[id]
	b.mu.Unlock()
	return b.copyStale(wc, now, b.freshFor(c, now, report))
}

// freshFor is how recent a window read a decision on c at now needs (zero: any copy younger than
// WindowTTL serves). While the window is marked, a decision rests on the fleet's settled calls as
// read lately, not on a copy up to WindowTTL old, so an outage trips as soon as the others'
// settled calls prove it: at most a flush interval old for the background flusher, and at most
// Lag old inside an invocation (report), where a read is a second store round trip the
// function waits for. Lag is the span whose calls a decision already leaves out of this
// environment's own, as the others' may not have landed; the background flusher and the next
// report read again within it.
func (b *Breaker) freshFor(c circuit.Circuit, now time.Time, report bool) time.Time {
	if !now.Before(c.BadUntil) {
		return time.Time{}
	}
	if report {
		return now.Add(-b.opt.Lag)
	}
	return now.Add(-b.opt.FlushInterval)
}

// owedFresh returns when a decision inside an invocation that rested on a window copy older than
// the background flusher would use (a flush interval) is owed again, on a fresh read: when the
// copy turns a Lag old, the moment the report path would have read anyway. A burst that ends
// within a Lag of the read is then still judged on the others' calls, by the background flusher
// (or the first flush after a thaw), never left waiting for calls that may not come. Zero when
// nothing is owed.
func (b *Breaker) owedFresh(w work, c circuit.Circuit, now time.Time) time.Time {
	if !w.report || !now.Before(c.BadUntil) {
		return time.Time{}
	}
	b.mu.Lock()
	wc := b.windows[w.id]
	b.mu.Unlock()
	if wc == nil || !b.copyStale(wc, now, now.Add(-b.opt.FlushInterval)) {
		return time.Time{}
	}
	return wc.readAt.Add(b.opt.Lag)
}

// earliest is the earlier of two times, a zero one counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// copyStale reports whether the window copy wc is too old to decide on at now: older than
// WindowTTL, read in the future, or read before fresh once now has reached it.
func (b *Breaker) copyStale(wc *windowCopy, now, fresh time.Time) bool {
	return wc == nil || now.Sub(wc.readAt) >= b.opt.WindowTTL || now.Before(wc.readAt) ||
		(!fresh.IsZero() && wc.readAt.Before(fresh) && !now.Before(fresh))
}

// readBeside starts the window read of circuit id that counts writes (the caller's, under way)
// once, and returns where its answer will come. The read is bounded by ctx like the writes.
func (b *Breaker) readBeside(ctx context.Context, id string, p circuit.Policy, now time.Time, writes []store.CountsWrite) <-chan windowRead {
	ch := make(chan windowRead, 1)
	go func() {
		bs, err := b.store.ReadWindow(ctx, id, b.opt.Shards, p, now, writes...)
		ch <- windowRead{buckets: bs, err: err}
	}()
	return ch
}

// keepRead keeps a window read made beside the writes, now complete, as circuit id's copy read at
// now, and reports whether it did; a failed read is logged and the decision reads (or falls back)
// as it would have.
func (b *Breaker) keepRead(id string, now time.Time, r windowRead) bool {
	b.stats.windowReads.Add(1)
	if r.err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn("window read beside the counter writes failed; the decision reads again", "circuit", id, "error", r.err.Error())
		return false
	}
	b.mu.Lock()
	b.windows[id] = &windowCopy{readAt: now, buckets: r.buckets}
	b.mu.Unlock()
	return true
}

// drain waits for a read beside writes that failed, so no read outlives its flush.
func drain(read <-chan windowRead) {
	if read != nil {
		<-read
	}
}
