package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/client/clienttest"
)

// A call whose ctx is cancelled while it runs (a sibling failed) is cancelled at the extension, by
// its name: it counts nothing there, where unreported it would count as slow once past the
// threshold. A deadline is no cancellation: that call is a failure ("timeout").
func TestDoCancelsACancelledCall(t *testing.T) {
	ext := clienttest.New()
	c, err := ext.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = c.Do(ctx, "inventory", func(ctx context.Context) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	calls := ext.Calls()
	if len(calls) != 2 || calls[1].Op != clienttest.OpCancel || calls[1].Name == "" || calls[1].Name != calls[0].Name {
		t.Fatalf("calls %+v, want the acquire then the cancellation of the call it named", calls)
	}
	if got := ext.Outcomes("inventory"); len(got) != 0 {
		t.Fatalf("outcomes %+v reported for a cancelled call, want none", got)
	}

	ext.Reset()
	ctx, stop := context.WithTimeout(context.Background(), time.Millisecond)
	defer stop()
	_ = c.Do(ctx, "inventory", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if got := ext.Outcomes("inventory"); len(got) != 1 || got[0].OK || got[0].Call == "" {
		t.Fatalf("outcomes %+v after a deadline, want one failure with the call's name", got)
	}
}

// Cancel sends nothing for a decision that named no call and holds no permit.
func TestCancelWithoutANameSendsNothing(t *testing.T) {
	ext := clienttest.New()
	c, err := ext.Client()
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.AcquireBatch(context.Background(), "inventory")
	if err != nil || !d.Allowed || d.Call != "" {
		t.Fatalf("AcquireBatch = %+v, %v", d, err)
	}
	if err := c.Cancel(context.Background(), "inventory", d); err != nil {
		t.Fatal(err)
	}
	if calls := ext.Calls(); len(calls) != 1 {
		t.Fatalf("calls %+v, want the acquire alone", calls)
	}
}
