package client

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
)

// A caller whose ctx ended before the extension answered (an API Gateway client that hung up, an
// invocation past its deadline) is not an extension outage: no warning, no UnreachableCalls, and Do
// returns the ctx's error without running the call, whatever the fail mode.
func TestEndedContextIsNotAnUnreachableExtension(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		ResetWarnings()
		f := newFake(t, allowedWithPermit)
		var logs bytes.Buffer
		c := mustNew(t, WithBaseURL(f.srv.URL), WithFailOpen(failOpen), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if d, err := c.Acquire(ctx, "inventory"); !errors.Is(err, context.Canceled) || d.Allowed || d.Unreachable {
			t.Errorf("fail open %v: Acquire = %+v, %v; want a denial matching context.Canceled", failOpen, d, err)
		}
		called := false
		if err := c.Do(ctx, "inventory", func(context.Context) error { called = true; return nil }); !errors.Is(err, context.Canceled) || errors.Is(err, ErrOpen) || called {
			t.Errorf("fail open %v: Do = %v (called %v), want context.Canceled and no call", failOpen, err, called)
		}
		if n := c.UnreachableCalls(); n != 0 || logs.Len() != 0 {
			t.Errorf("fail open %v: UnreachableCalls = %d, log %q: the caller's cancellation taken for an outage", failOpen, n, logs.String())
		}
	}
}
