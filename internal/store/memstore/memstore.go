package memstore

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// maxAttempts bounds Update's read-decide-write rounds, as store.Options.MaxAttempts does by default.
const maxAttempts = 20

// Options tune a Store.
type Options struct {
	// Now is the clock Sweep judges TTL expiry by (default time.Now).
	Now func() time.Time
}

// Store holds one table's circuits and window counters in memory. It is safe for concurrent use.
// It implements store.Circuits, and the DynamoDB store's List and GetMany besides.
type Store struct {
	opt Options

	mu       sync.Mutex
	circuits map[string]circuit.Circuit
	windows  map[windowKey]*bucketItem

	reads, writes atomic.Int64
}

// windowKey is a window item's key: pk "<id>#<shard>", sk "window#<bucket start>".
type windowKey struct {
	id    string
	shard int
	start int64
}

type bucketItem struct {
	counts    circuit.Counts
	settled   circuit.Counts    // the part of counts made knowing the bad-window mark
	expiresAt int64             // epoch seconds
	seqs      map[string]uint64 // the last sequence number taken from each writer
}

var _ store.Circuits = (*Store)(nil)

// New returns an empty Store.
func New(opt Options) *Store {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Store{opt: opt, circuits: map[string]circuit.Circuit{}, windows: map[windowKey]*bucketItem{}}
}

// Stats are the DynamoDB calls the store has served.
type Stats struct {
	// Reads counts GetItem and BatchGetItem calls; Writes counts PutItem and UpdateItem calls,
	// failed conditional writes included (DynamoDB bills those too).
	Reads, Writes int64
}

// Stats returns the calls served so far.
func (s *Store) Stats() Stats { return Stats{Reads: s.reads.Load(), Writes: s.writes.Load()} }

// Get reads a circuit; store.ErrNotFound if it was never written.
func (s *Store) Get(ctx context.Context, id string) (circuit.Circuit, error) {
	if err := circuit.ValidateID(id); err != nil {
		return circuit.Circuit{}, err
	}
	if err := ctx.Err(); err != nil {
		return circuit.Circuit{}, fmt.Errorf("memstore: get circuit %q: %w", id, err)
	}
	s.reads.Add(1)
	s.mu.Lock()
	c, ok := s.circuits[id]
	s.mu.Unlock()
	if !ok {
		return circuit.Circuit{}, fmt.Errorf("memstore: circuit %q: %w", id, store.ErrNotFound)
	}
	return clone(c), nil
}

// GetConsistent is Get: the memory store has no replicas to lag.
func (s *Store) GetConsistent(ctx context.Context, id string) (circuit.Circuit, error) {
	return s.Get(ctx, id)
}

// Put writes c on condition that the stored version is c.Version-1 (or that none exists when
// c.Version is 1). A lost race is a *store.ConflictError carrying the stored circuit.
func (s *Store) Put(ctx context.Context, c circuit.Circuit) error {
	if err := circuit.ValidateID(c.ID); err != nil {
		return err
	}
	if c.Version < 1 {
		return fmt.Errorf("memstore: put circuit %q: version %d, want ≥ 1", c.ID, c.Version)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: put circuit %q version %d: %w", c.ID, c.Version, err)
	}
	s.writes.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.circuits[c.ID]
	if (c.Version == 1 && ok) || (c.Version > 1 && (!ok || cur.Version != c.Version-1)) {
		ce := &store.ConflictError{ID: c.ID, Version: c.Version}
		if ok {
			won := clone(cur)
			ce.Current = &won
		}
		return ce
	}
	s.circuits[c.ID] = clone(c)
	return nil
}

// Update reads the circuit (a zero circuit with the id if there is none), decides, and writes the
// result conditionally, re-deciding from the winner after a lost race, as store.Store.Update does.
func (s *Store) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	return store.UpdateRetrying(ctx, s, id, decide, maxAttempts, pause)
}

// pause is a full-jitter pause that grows with the lost races, as the DynamoDB store's does
// (shorter: a write here takes microseconds, not milliseconds).
func pause(attempt int) time.Duration {
	return time.Duration(rand.Int64N(int64(time.Microsecond<<min(attempt, 10))) + 1)
}

// Observe applies an observation to the circuit (creating it if needed) through Update.
func (s *Store) Observe(ctx context.Context, id string, obs circuit.Observation, base circuit.Policy, now time.Time) (circuit.Result, error) {
	return store.ObserveWith(ctx, s, id, obs, base, now)
}

// AcquireProbe asks for a call permit (see store.AcquireProbeWith).
func (s *Store) AcquireProbe(ctx context.Context, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error) {
	return store.AcquireProbeWith(ctx, s, id, permit, base, now)
}

// ReleaseProbe gives a permit back without a trial.
func (s *Store) ReleaseProbe(ctx context.Context, id, permit string, now time.Time) (circuit.Result, error) {
	return store.ReleaseProbeWith(ctx, s, id, permit, now)
}

// Force sets an operator override on the circuit, creating it if needed.
func (s *Store) Force(ctx context.Context, id string, o circuit.Override, reason string, now time.Time) (circuit.Result, error) {
	return store.ForceWith(ctx, s, id, o, reason, now)
}

// List returns every circuit, ordered by id.
func (s *Store) List(ctx context.Context) ([]circuit.Circuit, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list circuits: %w", err)
	}
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]circuit.Circuit, 0, len(s.circuits))
	for _, id := range slices.Sorted(maps.Keys(s.circuits)) {
		out = append(out, clone(s.circuits[id]))
	}
	return out, nil
}

// GetMany reads many circuits; circuits never written are absent from the map.
func (s *Store) GetMany(ctx context.Context, ids []string) (map[string]circuit.Circuit, error) {
	for _, id := range ids {
		if err := circuit.ValidateID(id); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: read %d circuits: %w", len(ids), err)
	}
	s.reads.Add(int64((len(ids) + 99) / 100)) // one BatchGetItem per 100 keys
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]circuit.Circuit, len(ids))
	for _, id := range ids {
		if c, ok := s.circuits[id]; ok {
			out[id] = clone(c)
		}
	}
	return out, nil
}

// clone returns c as DynamoDB would hand it back: times in whole milliseconds (UTC), probes sorted
// by lease end then permit, slices and maps of its own (the events outbox included), last check
// fields only with a check time.
func clone(c circuit.Circuit) circuit.Circuit {
	ms := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return time.UnixMilli(t.UnixMilli()).UTC()
	}
	c.Since, c.RetryAt, c.UpdatedAt, c.CheckedAt = ms(c.Since), ms(c.RetryAt), ms(c.UpdatedAt), ms(c.CheckedAt)
	c.BadSince, c.BadUntil = ms(c.BadSince), ms(c.BadUntil)
	if c.CheckedAt.IsZero() {
		c.LastLatencyMs, c.LastError = 0, ""
	}
	if len(c.Probes) > 0 {
		ps := make([]circuit.Probe, len(c.Probes))
		for i, p := range c.Probes {
			ps[i] = circuit.Probe{Permit: p.Permit, Until: ms(p.Until)}
		}
		slices.SortFunc(ps, func(a, b circuit.Probe) int {
			if d := a.Until.Compare(b.Until); d != 0 {
				return d
			}
			return strings.Compare(a.Permit, b.Permit)
		})
		c.Probes = ps
	} else {
		c.Probes = nil
	}
	if len(c.Unpublished) > 0 {
		trs := make([]circuit.Transition, len(c.Unpublished))
		for i, tr := range c.Unpublished {
			tr.At = ms(tr.At)
			trs[i] = tr
		}
		c.Unpublished = trs
	} else {
		c.Unpublished = nil
	}
	if len(c.Policy) > 0 {
		c.Policy = maps.Clone(c.Policy)
	} else {
		c.Policy = nil
	}
	return c
}

// ResetStats sets the call counters back to zero.
func (s *Store) ResetStats() {
	s.reads.Store(0)
	s.writes.Store(0)
}
