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
// still under way. Each invocation acquires a call every 200 ms and reports none of them, until an
// acquire is denied or the test, having seen the circuit OPEN, lets them go; so the trip can only
// come from calls counted as they pass the slow-call threshold (before, the breaker learned of a
// slow call from its outcome). How many calls it takes does not depend on the machine's speed:
// the calls go on until the circuit opens.
func TestHangingCallsTripWhileUnderWay(t *testing.T) {
	r := newRig(t, rigOptions{Managed: 8, Env: []string{"BREAKERBOX_FLUSH_INTERVAL=500ms", "BREAKERBOX_OPEN_DURATION=5m"}})
	r.put(circuit.Circuit{ID: "slowpay", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})
	release := filepath.Join(t.TempDir(), "release")

	var wg sync.WaitGroup
	replies := make([]runtimeReply, 8)
	for i := range replies {
		wg.Go(func() {
			rep, err := r.invokeRaw(step{Op: "client.acquireUntil", ID: "slowpay", Ms: 200, File: release})
			if err != nil {
				t.Error(err)
			}
			replies[i] = rep
		})
	}
	var c circuit.Circuit
	opened := waitForOK(time.Minute, func() bool {
		var err error
		c, err = r.get("slowpay")
		return err == nil && c.State == circuit.Open
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !opened || !strings.HasPrefix(c.Reason, "slow call rate") {
		t.Fatalf("circuit %s (%s) while every call hung, want OPEN by the slow call rate", c.State, c.Reason)
	}
	allowed, denied := 0, 0
	for _, rep := range replies {
		for _, rs := range rep.Results {
			var got struct {
				Allowed int  `json:"allowed"`
				Denied  bool `json:"denied"`
			}
			if rs.Err != "" || json.Unmarshal(rs.Body, &got) != nil {
				t.Fatalf("client.acquireUntil answered %s %s", rs.Err, rs.Body)
			}
			allowed += got.Allowed
			if got.Denied {
				denied++
			}
		}
	}
	t.Logf("OPEN with every call under way (%d calls allowed; %d of 8 invocations then denied one): %s", allowed, denied, c.Reason)
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
