package cache

import "sync/atomic"

// Stats are the cache's counters since start.
type Stats struct {
	// Hits are answers from a fresh copy; Misses needed a read (or waited for one).
	Hits, Misses int64
	// Reads are DynamoDB reads made (prefetch included); ReadErrors of them failed.
	Reads, ReadErrors int64
	// Stale counts answers from a last good copy while DynamoDB could not be read; Unavailable counts
	// answers with no copy to serve.
	Stale, Unavailable int64
	// Entries is the number of circuits cached now.
	Entries int
}

type counters struct {
	hits, misses, reads, readErrors, stale, unavailable atomic.Int64
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits: c.stats.hits.Load(), Misses: c.stats.misses.Load(),
		Reads: c.stats.reads.Load(), ReadErrors: c.stats.readErrors.Load(),
		Stale: c.stats.stale.Load(), Unavailable: c.stats.unavailable.Load(),
		Entries: c.lru.Len(),
	}
}
