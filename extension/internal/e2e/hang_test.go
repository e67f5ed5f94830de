package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// A provider whose calls hang: on Lambda Managed Instances (one environment, 8 invocations at a
// time) the real extension opens the circuit by the slow call rate while every call it allowed is
// still under way. Each invocation acquires a call every 200 ms and none of them ends until the test
// sees the circuit OPEN (the calls wait on a file), so the trip can only come from calls counted as
// they pass the slow-call threshold; before, the breaker learned of a slow call from its outcome.
func TestHangingCallsTripWhileUnderWay(t *testing.T) {
	r := newRig(t, rigOptions{Managed: 8, Env: []string{"BREAKERBOX_FLUSH_INTERVAL=500ms", "BREAKERBOX_OPEN_DURATION=5m"}})
	r.put(circuit.Circuit{ID: "slowpay", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})
	release := filepath.Join(t.TempDir(), "release")
	var steps []step
	for range 10 {
		steps = append(steps, step{Op: "client.acquire", ID: "slowpay"}, step{Op: "sleep", Ms: 200})
	}
	steps = append(steps, step{Op: "wait", File: release})

	var wg sync.WaitGroup
	replies := make([]runtimeReply, 8)
	for i := range replies {
		wg.Go(func() {
			rep, err := r.invokeRaw(steps...)
			if err != nil {
				t.Error(err)
			}
			replies[i] = rep
		})
	}
	opened := waitForOK(time.Minute, func() bool {
		c, err := r.get("slowpay")
		return err == nil && c.State == circuit.Open
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	c, err := r.get("slowpay")
	if err != nil {
		t.Fatal(err)
	}
	if !opened || !strings.HasPrefix(c.Reason, "slow call rate") {
		t.Fatalf("circuit %s (%s) while every call hung, want OPEN by the slow call rate", c.State, c.Reason)
	}
	allowed, denied := 0, 0
	for _, rep := range replies {
		for _, rs := range rep.Results {
			var d struct {
				Allowed bool `json:"allowed"`
			}
			if rs.Body != nil && json.Unmarshal(rs.Body, &d) == nil {
				if d.Allowed {
					allowed++
				} else {
					denied++
				}
			}
		}
	}
	t.Logf("OPEN with every call under way (%d allowed, %d denied once OPEN): %s", allowed, denied, c.Reason)
}

// waitForOK polls cond every 50 ms until it holds or d has passed, and says whether it held.
func waitForOK(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
