// Package ctxwait holds the project's one context-aware sleep, used by the store's and the
// ventilator's retry loops and by the worker's simulated provider.
package ctxwait

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends, and then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
