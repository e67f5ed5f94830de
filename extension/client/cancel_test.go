package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// A cancellation sent by Do stays within its caller's deadline (the invocation's): against an
// extension that never answers it, Do returns at that deadline, not after the client's own
// timeout (a minute here).
func TestDoCancelsWithinTheCallersDeadline(t *testing.T) {
	over := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/acquire") {
			_, _ = io.WriteString(w, allowedWithPermit)
			return
		}
		select { // the cancellation is never answered
		case <-r.Context().Done():
		case <-over:
		}
	}))
	defer srv.Close()
	defer close(over) // before Close, which waits for the handler
	c := mustNew(t, WithBaseURL(srv.URL), WithTimeout(time.Minute))
	ctx, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	cctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	err := c.Do(cctx, "inventory", func(context.Context) error { cancel(); return context.Canceled })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("Do returned %s after a call cancelled within a 1s deadline: the cancellation outlived it", took.Round(time.Second))
	}
}
