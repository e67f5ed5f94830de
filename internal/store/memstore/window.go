package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// maxBatchGetKeys is DynamoDB's limit of keys per BatchGetItem, which a window read must fit in.
const maxBatchGetKeys = 100

// AddCounts adds w.Counts, and its settled part w.Settled, to one window bucket of one shard (an atomic ADD) unless the bucket has
// already taken w.Seq (or a later write) from w.Writer, so a retried write counts once; it sets the
// bucket's expiry to bucket end + window, epoch seconds. A write that is not counted again is
// billed all the same, as DynamoDB bills a failed condition.
func (s *Store) AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if w.Counts.IsZero() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: add counts to circuit %q shard %d bucket %d: %w", w.ID, w.Shard, w.Bucket.Unix(), err)
	}
	s.writes.Add(1)
	k := windowKey{id: w.ID, shard: w.Shard, start: w.Bucket.Unix()}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.windows[k]
	if it == nil {
		it = &bucketItem{seqs: map[string]uint64{}}
		s.windows[k] = it
	}
	if last, ok := it.seqs[w.Writer]; ok && last >= w.Seq {
		return nil // taken already: counted once
	}
	it.seqs[w.Writer] = w.Seq
	it.counts = it.counts.Add(w.Counts)
	it.settled = it.settled.Add(w.Settled)
	it.expiresAt = w.Bucket.Add(p.BucketWidth() + p.Window).Unix()
	return nil
}

// ReadWindow returns the counts (and settled counts) of every bucket of the window ending at now,
// summed over shards, with each write of with counted once whether or not it was taken before the
// read (store.Circuits).
func (s *Store) ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time, with ...store.CountsWrite) ([]circuit.BucketCounts, error) {
	if err := circuit.ValidateID(id); err != nil {
		return nil, err
	}
	if shards < 1 || shards*circuit.Buckets > maxBatchGetKeys {
		return nil, fmt.Errorf("memstore: read window of %q: %d shards × %d buckets must be 1..%d keys", id, shards, circuit.Buckets, maxBatchGetKeys)
	}
	if err := store.ValidateWith(id, with); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: read window of %q: %w", id, err)
	}
	s.reads.Add(1)
	starts := p.WindowBuckets(now)
	out := make([]circuit.BucketCounts, len(starts))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range starts {
		out[i].Start = b
		for shard := 0; shard < shards; shard++ {
			if it := s.windows[windowKey{id: id, shard: shard, start: b.Unix()}]; it != nil {
				out[i].Counts = out[i].Counts.Add(it.counts)
				out[i].Settled = out[i].Settled.Add(it.settled)
			}
		}
	}
	store.AddUnseen(out, shards, with, func(w store.CountsWrite) uint64 {
		if it := s.windows[windowKey{id: id, shard: w.Shard, start: w.Bucket.Unix()}]; it != nil {
			return it.seqs[w.Writer]
		}
		return 0
	})
	return out, nil
}

// ExpiresAt is the stored expiry (epoch seconds) of one window item, and whether the item exists.
func (s *Store) ExpiresAt(id string, shard int, bucket time.Time) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.windows[windowKey{id: id, shard: shard, start: bucket.Unix()}]
	if it == nil {
		return 0, false
	}
	return it.expiresAt, true
}

// Sweep deletes the window items whose expiry has passed, as DynamoDB's TTL does in the background
// (until then, as in DynamoDB, an expired item still reads); it returns how many it deleted.
func (s *Store) Sweep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, it := range s.windows {
		if s.expired(it) {
			delete(s.windows, k)
			n++
		}
	}
	return n
}

// expired reports whether the item's TTL has passed. Called with s.mu held.
func (s *Store) expired(it *bucketItem) bool { return s.opt.Now().Unix() > it.expiresAt }
