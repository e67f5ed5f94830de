// Package store keeps breakerbox's circuits and their window counters in one DynamoDB table.
//
// Layout (pk/sk strings, TTL on expiresAt):
//
//	circuit:  pk = <id>           sk = "circuit"                  state, version, since, retryAt, ..., badSince, badUntil, unpublished
//	window:   pk = <id>#<shard>   sk = "window#<bucket start s>"  calls, failures, slow, sCalls, sFailures, sSlow (atomic ADD), w<writer>, expiresAt
//
// Every circuit write is conditional on the version read (optimistic concurrency): a lost race re-reads
// and re-decides, it never overwrites. Counters are only ever changed with ADD, never read-modify-write,
// and each ADD is conditional on the writer's sequence number (w<writer>), so a retried write counts
// once. The deciding parts use the [Circuits] interface; storetest holds any implementation to it.
// Times are epoch milliseconds, expiresAt epoch seconds. Each call is bounded by the store's timeout.
package store
