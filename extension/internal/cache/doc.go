// Package cache keeps the circuits this environment asks about, read from DynamoDB through a TTL
// cache: hashicorp/golang-lru/v2's expirable LRU bounds its size and drops copies too old to serve
// even as stale.
//
// Freshness is judged by wall-clock time, not by the monotonic clock that the LRU itself uses:
// Lambda freezes the sandbox between invokes, and a copy read before a freeze of minutes must not be
// served as fresh after it. Each entry's TTL gets ±10 % jitter so a fleet does not refresh in step.
// Concurrent misses for one circuit share one read (singleflight); a circuit that does not exist is
// cached too (a negative entry). When DynamoDB cannot be read, the last good copy is served, marked
// stale, for up to the stale TTL; failed reads are retried at most once per retry interval, so an
// outage costs callers one store timeout, not one per request.
package cache
