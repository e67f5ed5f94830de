package store

import (
	"context"
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Circuits is what the deciding parts of breakerbox need from a table of circuits and window
// counters. *Store (DynamoDB) is one implementation; the fleet simulator's in-memory store is another.
// storetest.Run holds every implementation to the same contract.
type Circuits interface {
	// Get reads a circuit (eventually consistent); one never written is ErrNotFound.
	Get(ctx context.Context, id string) (circuit.Circuit, error)
	// GetConsistent reads a circuit with a strongly consistent read.
	GetConsistent(ctx context.Context, id string) (circuit.Circuit, error)
	// Put writes c on condition that the stored version is c.Version-1 (none when c.Version is 1);
	// a lost race is an error matching ErrConflict.
	Put(ctx context.Context, c circuit.Circuit) error
	// Update reads, decides and writes conditionally, re-deciding after every lost race.
	Update(ctx context.Context, id string, decide Decide) (circuit.Result, error)
	// AcquireProbe asks for a call permit through a conditional write (see AcquireProbe).
	AcquireProbe(ctx context.Context, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error)
	// AddCounts adds w.Counts to one bucket of one shard, atomically and idempotently (see CountsWrite).
	AddCounts(ctx context.Context, w CountsWrite, p circuit.Policy) error
	// ReadWindow returns every bucket of the window ending at now, summed over shards 0..shards-1,
	// with each of the caller's writes in with counted once whether or not the read saw it (a read
	// made beside those writes; see Store.ReadWindow).
	ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time, with ...CountsWrite) ([]circuit.BucketCounts, error)
}

var _ Circuits = (*Store)(nil)

// Updater is the conditional read-decide-write the helpers below are built on.
type Updater interface {
	Update(ctx context.Context, id string, decide Decide) (circuit.Result, error)
}

// CountsWrite is one addition to the counters of one window bucket of one shard. It is idempotent:
// Writer names the writing environment (random per process) and Seq numbers its writes to a bucket,
// increasing. A bucket remembers the last Seq it took from each writer, and a write whose Seq is not
// above it is not counted again (it already was: an SDK retry whose first answer was lost, or a flush
// cut short by a freeze whose write had landed). A writer must therefore settle a write to a bucket
// (retry it, same Seq, same Counts) before it sends that bucket a higher Seq.
type CountsWrite struct {
	ID     string
	Shard  int
	Bucket time.Time // the bucket's start
	Counts circuit.Counts
	// Settled is the part of Counts made by an environment that knew the circuit's bad-window mark
	// when it made them (circuit.BucketCounts.Settled); each of its fields is at most Counts'.
	Settled circuit.Counts
	Writer  string // 1-32 characters of [A-Za-z0-9]
	Seq     uint64 // ≥ 1
}

// Validate says what is wrong with w, if anything.
func (w CountsWrite) Validate() error {
	if err := circuit.ValidateID(w.ID); err != nil {
		return err
	}
	if w.Shard < 0 {
		return fmt.Errorf("store: counts for circuit %q: shard %d, want ≥ 0", w.ID, w.Shard)
	}
	if w.Settled.Calls > w.Counts.Calls || w.Settled.Failures > w.Counts.Failures || w.Settled.Slow > w.Counts.Slow || w.Settled.Calls < 0 || w.Settled.Failures < 0 || w.Settled.Slow < 0 {
		return fmt.Errorf("store: counts for circuit %q: settled counts %+v must be a part of the counts %+v", w.ID, w.Settled, w.Counts)
	}
	if w.Seq < 1 {
		return fmt.Errorf("store: counts for circuit %q: sequence number 0, want ≥ 1 (every write needs its own)", w.ID)
	}
	if err := ValidateWriter(w.Writer); err != nil {
		return fmt.Errorf("store: counts for circuit %q: %w", w.ID, err)
	}
	return nil
}

// ValidateWriter checks a writer name: 1-32 characters of [A-Za-z0-9].
func ValidateWriter(w string) error {
	if len(w) < 1 || len(w) > 32 {
		return fmt.Errorf("writer name %q: want 1-32 characters of [A-Za-z0-9]", w)
	}
	for _, r := range w {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return fmt.Errorf("writer name %q: want 1-32 characters of [A-Za-z0-9]", w)
		}
	}
	return nil
}

// ObserveWith applies an observation to the circuit (creating it if needed) through u.
func ObserveWith(ctx context.Context, u Updater, id string, obs circuit.Observation, base circuit.Policy, now time.Time) (circuit.Result, error) {
	return u.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		p, err := PolicyFor(base, prev)
		if err != nil {
			return circuit.Result{}, err
		}
		return circuit.Observe(prev, obs, p, now), nil
	})
}

// AcquireProbeWith asks for a call permit through u. In HALF_OPEN (or OPEN past retryAt) the permit
// only counts once the conditional write that records it succeeded, so the fleet never holds more
// than the policy's half-open probes. An unknown circuit answers allowed without writing; callers
// apply their fail mode.
func AcquireProbeWith(ctx context.Context, u Updater, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error) {
	var dec circuit.Decision
	res, err := u.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		p, err := PolicyFor(base, prev)
		if err != nil {
			return circuit.Result{}, err
		}
		var r circuit.Result
		r, dec = circuit.Acquire(prev, permit, p, now)
		return r, nil
	})
	if err != nil {
		return circuit.Result{}, circuit.Decision{}, err
	}
	return res, dec, nil
}

// ReleaseProbeWith gives a permit back without a trial, through u.
func ReleaseProbeWith(ctx context.Context, u Updater, id, permit string, now time.Time) (circuit.Result, error) {
	return u.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		return circuit.Release(prev, permit, now), nil
	})
}

// ForceWith sets an operator override on the circuit through u, creating it if needed.
func ForceWith(ctx context.Context, u Updater, id string, o circuit.Override, reason string, now time.Time) (circuit.Result, error) {
	return u.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		return circuit.Force(prev, o, reason, now), nil
	})
}
