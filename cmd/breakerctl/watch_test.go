package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// TestWatchPrintsTransitions: watch prints each change as it happens and stops cleanly on cancel.
func TestWatchPrintsTransitions(t *testing.T) {
	c := newCtl(t)
	c.must("force-closed", "existing")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- c.runCtx(ctx, &out, &errOut, "watch", "-o", "json", "--interval", "200ms") }()
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "watching 1 circuits") }, "watch to start", &errOut)

	c.must("force-open", "existing", "--reason", "incident 42")
	c.must("force-open", "newcomer", "--reason", "never call it")
	waitFor(t, func() bool { return strings.Count(out.String(), "\n") >= 2 }, "two transitions", &out)
	c.must("clear", "existing")
	waitFor(t, func() bool { return strings.Count(out.String(), "\n") >= 3 }, "the third transition", &out)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("watch exited %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop on cancel")
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d events.Detail
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, d.ID+":"+d.From+">"+d.To)
	}
	want := "existing:FORCED_CLOSED>FORCED_OPEN newcomer:>FORCED_OPEN existing:FORCED_OPEN>CLOSED"
	if strings.Join(got, " ") != want {
		t.Fatalf("watch printed %v, want %s", got, want)
	}
}

func waitFor(t *testing.T, cond func() bool, what string, buf *testkit.SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output so far:\n%s", what, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
