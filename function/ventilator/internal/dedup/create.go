package dedup

import (
	"context"
	"fmt"

	"github.com/breakerbox/breakerbox/internal/store"
)

// CreateTable creates an on-demand dedup table (pk S, TTL on expiresAt) and waits until it is
// active. An existing table is fine, so the demo and tests can call it at every start.
func CreateTable(ctx context.Context, db store.TableAdmin, name string) error {
	if err := store.EnsureTable(ctx, db, store.TableSpec{Name: name}); err != nil {
		return fmt.Errorf("dedup: %w", err)
	}
	return nil
}
