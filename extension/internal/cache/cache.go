package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Jitter is the ± fraction applied to each entry's TTL.
const Jitter = 0.10

// maxRetryInterval caps how long a failed read is not retried.
const maxRetryInterval = time.Second

// ErrUnavailable is returned when DynamoDB could not be read and no copy may be served. It wraps the
// store's error.
var ErrUnavailable = errors.New("circuit state unavailable")

// Reader reads one circuit; *store.Store is one. A circuit that does not exist is store.ErrNotFound.
type Reader interface {
	Get(ctx context.Context, id string) (circuit.Circuit, error)
}

// Options tune a Cache.
type Options struct {
	// TTL is how long a copy is fresh (before jitter). Required.
	TTL time.Duration
	// StaleTTL is how long after its read a copy may be served stale while reads fail.
	StaleTTL time.Duration
	// Size is the most circuits kept. Required.
	Size int
	// Now returns the wall-clock time (default time.Now); tests move it.
	Now func() time.Time
	// Rand returns a number in [0, 1) for the TTL jitter (default math/rand/v2).
	Rand func() float64
}

// Entry is one cached answer about a circuit.
type Entry struct {
	// Circuit is the circuit as read (or as written by this environment). Valid when Found.
	Circuit circuit.Circuit
	// Found is false for a circuit known not to exist (a negative entry).
	Found bool
	// ReadAt is when the copy was read from (or written to) DynamoDB, wall clock.
	ReadAt time.Time
	// FreshUntil is when the copy must be read again, wall clock.
	FreshUntil time.Time
	// MarkSeenAt is when this environment first held a copy carrying the circuit's current
	// bad-window mark (Circuit.BadSince): the ReadAt of the first such copy, kept while later copies
	// carry the same mark. Zero when the copy carries none. A call that started at or after it was
	// made knowing the mark (circuit.Aware).
	MarkSeenAt time.Time

	// unreadable marks a placeholder for a circuit never read successfully: it only carries retryAt.
	unreadable bool
	// retryAt is when a failed read may be tried again; zero after a good read.
	retryAt time.Time
	// readErr is why the last read failed, told to callers answered before retryAt.
	readErr error
	// dropAt is when the entry is too old to be served at all and counts as absent, wall clock.
	dropAt time.Time
	// seq orders the entries of a cache by when they were stored (Cache.seq).
	seq uint64
}

// Result is the answer to Get.
type Result struct {
	Entry
	// Stale is true when DynamoDB could not be read and this is the last good copy.
	Stale bool
	// Hit is true when the answer came from the cache without a DynamoDB read.
	Hit bool
	// At is the wall-clock time the answer was given at (for the copy's age).
	At time.Time
}

// Cache is a read-through TTL cache of circuits. It is safe for concurrent use.
type Cache struct {
	r     Reader
	opt   Options
	lru   *lru.Cache[string, *Entry] // entries are never changed once added
	keep  time.Duration              // how long an entry is kept after it was added
	group singleflight.Group
	stats counters

	// mu makes each store of an entry one step with the look at the entry it replaces, so that a
	// read that started before a newer copy was stored never replaces it (see load and Put).
	mu sync.Mutex
	// seq numbers the entries in the order they were stored, under mu.
	seq uint64
}

// New returns a cache that reads through r.
func New(r Reader, opt Options) (*Cache, error) {
	if opt.TTL <= 0 || opt.Size < 1 || opt.StaleTTL < 0 {
		return nil, fmt.Errorf("cache: TTL %s, size %d, stale TTL %s: want a positive TTL and size", opt.TTL, opt.Size, opt.StaleTTL)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Rand == nil {
		opt.Rand = rand.Float64
	}
	l, err := lru.New[string, *Entry](opt.Size)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	// Entries too old to be served at all count as absent; like freshness, that is judged here by the
	// wall clock read once per Get (an expiring LRU would read the clock a second time on every hit).
	keep := max(opt.TTL, opt.StaleTTL) + opt.TTL + maxRetryInterval
	return &Cache{r: r, opt: opt, lru: l, keep: keep}, nil
}

// get returns id's entry unless it is past dropAt, marking it recently used.
func (c *Cache) get(id string, now time.Time) (*Entry, bool) {
	e, ok := c.lru.Get(id)
	if !ok || !now.Before(e.dropAt) {
		return nil, false
	}
	return e, true
}

// peek is get without marking the entry used.
func (c *Cache) peek(id string, now time.Time) (*Entry, bool) {
	e, ok := c.lru.Peek(id)
	if !ok || !now.Before(e.dropAt) {
		return nil, false
	}
	return e, true
}

// add stores e as id's entry, kept until now plus keep. c.mu must be held.
func (c *Cache) add(id string, e *Entry, now time.Time) {
	e.MarkSeenAt = time.Time{}
	if e.Found && !e.Circuit.BadSince.IsZero() {
		e.MarkSeenAt = e.ReadAt
		if old, ok := c.peek(id, now); ok && old.Found && old.Circuit.BadSince.Equal(e.Circuit.BadSince) &&
			!old.MarkSeenAt.IsZero() && old.MarkSeenAt.Before(e.MarkSeenAt) {
			e.MarkSeenAt = old.MarkSeenAt
		}
	}
	c.seq++
	e.dropAt, e.seq = now.Add(c.keep), c.seq
	c.lru.Add(id, e)
}

// stored is the sequence number of the last entry stored: an entry with a higher one was stored
// after this call.
func (c *Cache) stored() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// now is the wall-clock time without a monotonic reading, so that every comparison with it is by
// wall clock (time.Time compares by wall clock when either side lacks the monotonic reading).
func (c *Cache) now() time.Time { return c.opt.Now().Round(0) }

// Get answers from a fresh copy, else reads the circuit (one read for concurrent callers). ctx bounds
// the wait; the read itself is bounded by the store's timeout and finishes for the others even if
// ctx ends. A circuit that does not exist is a Result with Found false, not an error.
func (c *Cache) Get(ctx context.Context, id string) (Result, error) {
	now := c.now()
	e, ok := c.get(id, now)
	if ok && !e.unreadable && now.Before(e.FreshUntil) {
		c.stats.hits.Add(1)
		return Result{Entry: *e, Hit: true, At: now}, nil
	}
	if ok && now.Before(e.retryAt) {
		// A read failed a moment ago: answer without waiting for another one.
		return c.fallback(id, e, now, fmt.Errorf("store: last read failed, retrying shortly: %w", e.readErr))
	}
	c.stats.misses.Add(1)
	ch := c.group.DoChan(id, func() (any, error) { return c.load(context.WithoutCancel(ctx), id) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return Result{}, r.Err
		}
		return r.Val.(Result), nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("cache: get circuit %q: %w", id, ctx.Err())
	}
}

// Prefetch reads ids (concurrently) so that the first questions are answered from the cache. It
// returns the errors of the reads that failed; those circuits are retried by the next Get.
func (c *Cache) Prefetch(ctx context.Context, ids []string) error {
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() {
			_, err, _ := c.group.Do(id, func() (any, error) { return c.load(ctx, id) })
			errs <- err
		}()
	}
	var all []error
	for range ids {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// load reads id from the store and caches what it learnt. A copy stored while the read was on its
// way (Put, after this environment wrote the circuit) is newer than what the read saw: it is kept,
// as is any copy of a higher version than the read's (an eventually consistent read can be older
// than what this environment wrote).
func (c *Cache) load(ctx context.Context, id string) (Result, error) {
	c.stats.reads.Add(1)
	began := c.stored()
	got, err := c.r.Get(ctx, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	old, _ := c.peek(id, now)
	newer := old != nil && old.Found && !old.unreadable && old.seq > began
	switch {
	case err == nil:
		if old != nil && old.Found && !old.unreadable && old.Circuit.Version > got.Version {
			got = old.Circuit
		}
		e := c.fresh(got, true, now)
		c.add(id, e, now)
		return Result{Entry: *e, At: now}, nil
	case errors.Is(err, store.ErrNotFound):
		if newer {
			return Result{Entry: *old, At: now}, nil // written here after the read saw no circuit
		}
		e := c.fresh(circuit.Circuit{ID: id}, false, now)
		c.add(id, e, now)
		return Result{Entry: *e, At: now}, nil
	}
	c.stats.readErrors.Add(1)
	retry := now.Add(min(c.opt.TTL, maxRetryInterval))
	var e *Entry
	if old != nil && !old.unreadable {
		cp := *old
		cp.retryAt, cp.readErr = retry, err
		e = &cp
	} else {
		e = &Entry{Circuit: circuit.Circuit{ID: id}, unreadable: true, retryAt: retry, readErr: err}
	}
	c.add(id, e, now)
	return c.fallback(id, e, now, err)
}

// fallback answers after a failed read: the last good copy while it is within the stale TTL, else
// ErrUnavailable.
func (c *Cache) fallback(id string, e *Entry, now time.Time, cause error) (Result, error) {
	if !e.unreadable && now.Sub(e.ReadAt) <= c.opt.StaleTTL {
		c.stats.stale.Add(1)
		return Result{Entry: *e, Stale: true, At: now}, nil
	}
	c.stats.unavailable.Add(1)
	return Result{}, fmt.Errorf("cache: circuit %q: %w: %w", id, ErrUnavailable, cause)
}

func (c *Cache) fresh(circ circuit.Circuit, found bool, now time.Time) *Entry {
	ttl := time.Duration(float64(c.opt.TTL) * (1 + Jitter*(2*c.opt.Rand()-1)))
	return &Entry{Circuit: circ, Found: found, ReadAt: now, FreshUntil: now.Add(ttl)}
}

// Put caches a circuit this environment has just written or read back from a write (it is as fresh
// as a read). A copy with a higher version already cached is kept.
func (c *Cache) Put(circ circuit.Circuit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if old, ok := c.peek(circ.ID, now); ok && old.Found && old.Circuit.Version > circ.Version {
		return
	}
	c.add(circ.ID, c.fresh(circ, circ.Exists(), now), now)
}

// Peek returns the cached entry for id, fresh or not, without reading or counting.
func (c *Cache) Peek(id string) (Entry, bool) {
	e, ok := c.peek(id, c.now())
	if !ok || e.unreadable {
		return Entry{}, false
	}
	return *e, true
}

// IDs lists the circuits cached (found or known not to exist), oldest use first.
func (c *Cache) IDs() []string {
	now := c.now()
	ids := c.lru.Keys()
	kept := ids[:0]
	for _, id := range ids {
		if _, ok := c.peek(id, now); ok {
			kept = append(kept, id)
		}
	}
	return kept
}

// Len is the number of entries.
func (c *Cache) Len() int { return c.lru.Len() }
