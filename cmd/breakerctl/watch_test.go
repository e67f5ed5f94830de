package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
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

// A failed half-open probe between two polls (OPEN → HALF_OPEN → OPEN, two writes) is shown, not
// hidden because the state read is OPEN both times; so is any round trip, and a write that changes
// nothing but the version is not.
func TestWatchFoldsRoundTrips(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	open := circuit.Circuit{ID: "inventory", State: circuit.Open, Since: t0, Version: 10, OpenCount: 1}
	reopened := open
	reopened.Since, reopened.Version, reopened.OpenCount, reopened.Reason = t0.Add(31*time.Second), 12, 2, "probe failed (timeout); open for 1m0s"
	heartbeat := open
	heartbeat.Version = 11
	closedAgain := circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: t0, Version: 3}
	closedLater := closedAgain
	closedLater.Since, closedLater.Version = t0.Add(time.Minute), 8
	for _, tc := range []struct {
		name        string
		prev, c     circuit.Circuit
		changed     bool
		text, jsonl string
	}{
		{"failed probe", open, reopened, true, "inventory  OPEN → HALF_OPEN → OPEN  v12  probe failed", `"from":"OPEN","to":"OPEN"`},
		{"same state, new version", open, heartbeat, false, "", ""},
		{"round trip through several states", closedAgain, closedLater, true, "CLOSED → … → CLOSED  v8 (+4 writes)", `"via":["…"]`},
		{"older read", reopened, open, false, "", ""},
	} {
		if got := changed(tc.prev, tc.c); got != tc.changed {
			t.Errorf("%s: changed = %v, want %v", tc.name, got, tc.changed)
		}
		if !tc.changed {
			continue
		}
		var out, errOut testkit.SyncBuffer
		a := &app{stdout: &out, stderr: &errOut, output: "table"}
		if err := a.printChange(tc.prev, tc.c, true); err != nil || !strings.Contains(out.String(), tc.text) {
			t.Errorf("%s: printed %q (%v), want %q", tc.name, out.String(), err, tc.text)
		}
		var js testkit.SyncBuffer
		a = &app{stdout: &js, stderr: &errOut, output: "json"}
		if err := a.printChange(tc.prev, tc.c, true); err != nil || !strings.Contains(js.String(), tc.jsonl) {
			t.Errorf("%s: printed %q (%v), want %q", tc.name, js.String(), err, tc.jsonl)
		}
	}
	var js testkit.SyncBuffer
	_ = (&app{stdout: &js, output: "json"}).printChange(open, reopened, true)
	if !strings.Contains(js.String(), `"via":["HALF_OPEN"]`) {
		t.Errorf("json line %s does not name HALF_OPEN", js.String())
	}
}

// TestWatchShowsAFailedProbe runs watch against the table while a probe is taken and fails: the
// re-open shows, as one folded line or as two, whichever way the polls fall.
func TestWatchShowsAFailedProbe(t *testing.T) {
	c := newCtl(t)
	srv := mototest.Shared(t)
	st := store.New(dynamodb.NewFromConfig(srv.AWSConfig()), c.env["BREAKERBOX_TABLE"], store.Options{Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	put := func(cc circuit.Circuit) {
		t.Helper()
		if err := st.Put(ctx, cc); err != nil {
			t.Fatal(err)
		}
	}
	put(circuit.Circuit{ID: "inventory", State: circuit.Open, Since: t0, RetryAt: t0.Add(30 * time.Second), Version: 1, OpenCount: 1, Reason: "3 consecutive failures"})
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- c.runCtx(ctx, &out, &errOut, "watch", "--interval", "500ms") }()
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "watching 1 circuits") }, "watch to start", &errOut)
	t1 := time.Now().Truncate(time.Millisecond)
	put(circuit.Circuit{ID: "inventory", State: circuit.HalfOpen, Since: t1, Version: 2, OpenCount: 1, Reason: "probing"})
	put(circuit.Circuit{ID: "inventory", State: circuit.Open, Since: t1.Add(time.Millisecond), RetryAt: t1.Add(time.Minute), Version: 3, OpenCount: 2, Reason: "probe failed"})
	waitFor(t, func() bool {
		s := out.String()
		return strings.Contains(s, "OPEN → HALF_OPEN → OPEN  v3") || (strings.Contains(s, "OPEN → HALF_OPEN  v2") && strings.Contains(s, "HALF_OPEN → OPEN  v3"))
	}, "the failed probe", &out)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch exited %d: %s", code, errOut.String())
	}
}
