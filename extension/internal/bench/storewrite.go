package main

import (
	"context"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// storeWriter makes one counter write at a time to the bench's table, as the extension's flush
// does (store.AddCounts), and times it: the reference of what one write costs on this machine.
type storeWriter struct {
	s   *store.Store
	p   circuit.Policy
	seq uint64
}

func (w *storeWriter) write(ctx context.Context) (time.Duration, error) {
	w.seq++
	now := time.Now()
	cw := store.CountsWrite{ID: "bench-store-write", Shard: 0, Bucket: w.p.BucketStart(now), Counts: circuit.Counts{Calls: 1, Failures: 1},
		Writer: "benchproc", Seq: w.seq}
	err := w.s.AddCounts(ctx, cw, w.p)
	return time.Since(now), err
}
