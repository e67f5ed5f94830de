// Package ctxwait holds the functions' one context-aware sleep, shared by the worker's simulated
// provider and the ventilator's retry loops (controller state, event source mapping).
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
