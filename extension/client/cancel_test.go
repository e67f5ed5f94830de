package client

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A caller whose ctx ended before the extension answered (an errgroup whose sibling failed, an
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

// An answer that is not the extension's (a proxy's HTML page, a runaway body) is named in a bounded
// error, not copied whole into the error and the warning.
func TestForeignAnswerIsBoundedInTheError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 4<<20))
	}))
	defer srv.Close()
	_, err := mustNew(t, WithBaseURL(srv.URL), WithLogger(slog.New(slog.DiscardHandler))).Acquire(context.Background(), "inventory")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || len(err.Error()) > 1024 {
		t.Fatalf("Acquire error of %d bytes (%.200v), want a bounded *Error with status 502", len(err.Error()), err)
	}
}
