// Package cache keeps the circuits this environment asks about, read from DynamoDB through a TTL
// cache: hashicorp/golang-lru/v2's LRU bounds its size, and each entry carries the wall-clock time
// after which it is too old to serve even as stale, when Get drops it.
//
// Freshness and dropping are both judged by the one wall-clock reading Get takes (an injectable
// clock in tests): Lambda freezes the sandbox between invokes, and a copy read before a freeze of
// minutes must not be served as fresh after it. That is why golang-lru's expirable LRU is not used:
// it judges expiry by a second, monotonic clock read on every hit and runs a purge goroutine that
// never stops. Each entry's TTL gets ±10 % jitter so a fleet does not refresh in step.
// Concurrent misses for one circuit share one read (singleflight); a circuit that does not exist is
// cached too (a negative entry). When DynamoDB cannot be read, the last good copy is served, marked
// stale, for up to the stale TTL; failed reads are retried at most once per retry interval, so an
// outage costs callers one store timeout, not one per request.
package cache
