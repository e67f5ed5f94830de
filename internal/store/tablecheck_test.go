package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/store"
)

// CheckTable tells a table that does not exist (no retry mends it) from one that exists, and
// Cause puts the failure in words that say what to check.
func TestCheckTableAndCause(t *testing.T) {
	st, db := newStore(t, store.Options{})
	ctx := context.Background()
	if err := st.CheckTable(ctx); err != nil {
		t.Fatalf("existing table: %v", err)
	}
	missing := store.New(db, "no-such-table", store.Options{Timeout: 10 * time.Second})
	err := missing.CheckTable(ctx)
	if !errors.Is(err, store.ErrTableNotFound) || !strings.Contains(err.Error(), `"no-such-table"`) {
		t.Fatalf("missing table: %v, want ErrTableNotFound naming it", err)
	}
	_, getErr := missing.Get(ctx, "inventory")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{err, "the table does not exist: check BREAKERBOX_TABLE"},
		{getErr, "the table does not exist: check BREAKERBOX_TABLE"},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), "did not answer within BREAKERBOX_STORE_TIMEOUT"},
		{fmt.Errorf("get: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), "DynamoDB cannot be reached: dial tcp: connection refused"},
		{errors.New("something else"), "something else"},
	} {
		if got := store.Cause(tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
