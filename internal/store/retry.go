package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/ctxwait"
)

// VersionedRW reads a circuit consistently and writes it on condition of the version it was read
// at, answering a lost race with a *ConflictError that carries the winner's item when it can.
type VersionedRW interface {
	GetConsistent(ctx context.Context, id string) (circuit.Circuit, error)
	Put(ctx context.Context, c circuit.Circuit) error
}

// UpdateRetrying is the read-decide-write loop of every Updater: it reads the circuit (a zero circuit
// with the id if there is none), decides, and writes the result conditionally; after a lost race it
// re-decides from the winner's item (or re-reads), pausing pause(attempt) first, and gives up with
// ErrConflict after maxAttempts rounds. It returns the result that was written, or the unchanged one
// when the decision changed nothing.
func UpdateRetrying(ctx context.Context, rw VersionedRW, id string, decide Decide, maxAttempts int, pause func(attempt int) time.Duration) (circuit.Result, error) {
	var known *circuit.Circuit
	for attempt := 1; ; attempt++ {
		var prev circuit.Circuit
		var err error
		if known != nil {
			prev = *known
		} else if prev, err = rw.GetConsistent(ctx, id); errors.Is(err, ErrNotFound) {
			prev, err = circuit.Circuit{ID: id}, nil
		}
		if err != nil {
			return circuit.Result{}, err
		}
		res, err := decide(prev)
		if err != nil || !res.Changed {
			return res, err
		}
		err = rw.Put(ctx, res.Circuit)
		if err == nil {
			return res, nil
		}
		var ce *ConflictError
		if !errors.As(err, &ce) {
			return circuit.Result{}, err
		}
		known = ce.Current
		if attempt >= maxAttempts {
			return circuit.Result{}, fmt.Errorf("store: update circuit %q: gave up after %d lost races: %w", id, attempt, ErrConflict)
		}
		if err := ctxwait.Sleep(ctx, pause(attempt)); err != nil {
			return circuit.Result{}, fmt.Errorf("store: update circuit %q: %w", id, err)
		}
	}
}
