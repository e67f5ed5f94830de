package breaker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// View is what the HTTP API shows of a circuit.
type View struct {
	ID    string
	State circuit.State
	// Allowed is whether a caller without a permit may call now (CLOSED or FORCED_CLOSED).
	Allowed bool
	Since   time.Time
	// RetryAt is when an OPEN circuit may go HALF_OPEN; zero otherwise.
	RetryAt  time.Time
	Reason   string
	Version  int64
	Override circuit.Override
	// Stale is true when DynamoDB could not be read and this is the last good copy.
	Stale bool
	// Age is how long ago the copy was read from DynamoDB.
	Age time.Duration
}

func viewOf(res *cache.Result) View {
	c := &res.Circuit
	age := res.At.Sub(res.ReadAt)
	if age < 0 {
		age = 0
	}
	return View{
		ID: c.ID, State: c.State, Allowed: c.AllowsCalls(), Since: c.Since, RetryAt: c.RetryAt,
		Reason: c.Reason, Version: c.Version, Override: c.Override, Stale: res.Stale, Age: age,
	}
}

// State returns the view of one circuit: ErrNotFound for an unknown circuit, an error matching
// cache.ErrUnavailable when DynamoDB cannot be read and no copy may be served.
func (b *Breaker) State(ctx context.Context, id string) (View, error) {
	res, err := b.cache.Get(ctx, id)
	if err != nil {
		return View{}, err
	}
	if !res.Found {
		return View{}, fmt.Errorf("circuit %q: %w", id, ErrNotFound)
	}
	return viewOf(&res), nil
}

// List returns the views of the circuits this environment knows (prefetched or asked about), by id.
// Copies past their TTL are read again first; circuits that cannot be shown are left out.
func (b *Breaker) List(ctx context.Context) []View {
	ids := b.cache.IDs()
	slices.Sort(ids)
	out := make([]View, 0, len(ids))
	for _, id := range ids {
		v, err := b.State(ctx, id)
		switch {
		case err == nil:
			out = append(out, v)
		case errors.Is(err, ErrNotFound), errors.Is(err, cache.ErrUnavailable):
		default:
			b.log.Debug("list: circuit left out", "circuit", id, "error", err.Error())
		}
	}
	return out
}
