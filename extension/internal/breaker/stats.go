package breaker

import "sync/atomic"

// Stats are the breaker's counters since start, the cache's included.
type Stats struct {
	CacheHits, CacheMisses int64
	CacheEntries           int
	// StoreReads are circuit reads (prefetch included); WindowReads are window BatchGetItems.
	StoreReads, WindowReads int64
	// StoreWrites are successful writes: counter ADDs and conditional circuit writes.
	StoreWrites int64
	// StoreErrors are failed DynamoDB calls of every kind.
	StoreErrors int64
	// StaleAnswers were served from a last good copy; Unavailable had no copy to serve.
	StaleAnswers, Unavailable int64
	Flushes, FlushErrors      int64
	// OutcomesReceived counts reported outcomes; OutcomesBuffered the calls not written yet, those of
	// a write under way included.
	OutcomesReceived, OutcomesBuffered int64
	// CallsUnderWay are the calls named by Acquire whose outcome has not come back yet (running.go):
	// a number that only grows points at a function that acquires and never reports.
	CallsUnderWay                 int
	AcquireAllowed, AcquireDenied int64
	PermitsGranted                int64
	Transitions                   int64
	// Published counts written results whose events went out; PublishErrors those that did not
	// (recorded in the circuit item for the next writer).
	Published, PublishErrors int64
}

type counters struct {
	storeErrors, storeWrites, windowReads, flushes, flushErrors atomic.Int64
	received, allowed, denied, permits, transitions             atomic.Int64
	published, publishErrors                                    atomic.Int64
}

// Stats returns the counters.
func (b *Breaker) Stats() Stats {
	cs := b.cache.Stats()
	b.mu.Lock()
	var buffered int64
	for _, buf := range b.pending {
		buffered += buf.calls()
	}
	buffered += b.writing.Load() // taken out of the buffers by a write under way
	running := b.nRunning
	b.mu.Unlock()
	return Stats{
		CacheHits: cs.Hits, CacheMisses: cs.Misses, CacheEntries: cs.Entries,
		StoreReads: cs.Reads, WindowReads: b.stats.windowReads.Load(), StoreWrites: b.stats.storeWrites.Load(),
		StoreErrors:  cs.ReadErrors + b.stats.storeErrors.Load(),
		StaleAnswers: cs.Stale, Unavailable: cs.Unavailable,
		Flushes: b.stats.flushes.Load(), FlushErrors: b.stats.flushErrors.Load(),
		OutcomesReceived: b.stats.received.Load(), OutcomesBuffered: buffered, CallsUnderWay: running,
		AcquireAllowed: b.stats.allowed.Load(), AcquireDenied: b.stats.denied.Load(),
		PermitsGranted: b.stats.permits.Load(), Transitions: b.stats.transitions.Load(),
		Published: b.stats.published.Load(), PublishErrors: b.stats.publishErrors.Load(),
	}
}
