// Package memstore is an in-memory stand-in for the DynamoDB store (internal/store) with the same
// methods and the same semantics: circuits written on condition of their version (a lost race is a
// *store.ConflictError carrying the winner), Update's read-decide-write loop, window counters added
// atomically per shard and bucket with an expiry one window after the bucket's end, window reads of
// every shard at once, and items that read back as DynamoDB would give them (times in whole
// milliseconds, probes sorted). It passes the store's contract tests, so the fleet simulator can run
// hundreds of environments on a virtual clock without moto. It counts the calls DynamoDB would bill:
// reads (GetItem, and each BatchGetItem) and writes (PutItem, UpdateItem).
package memstore
