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
	// The calls are let go however the test ends (cleanups run before the rig's, registered first).
	letGo := func() {
		if err := os.WriteFile(release, nil, 0o644); err != nil && !os.IsExist(err) {
			t.Error(err)
		}
	}
	t.Cleanup(letGo)
	var c circuit.Circuit
	waitFor(t, time.Minute, "slowpay OPEN while every call hangs", func() bool {
		var err error
		c, err = r.get("slowpay")
		return err == nil && c.State == circuit.Open
	})
	letGo()
	wg.Wait()
	if !strings.HasPrefix(c.Reason, "slow call rate") {
		t.Fatalf("OPEN for %q while every call hung, want the slow call rate", c.Reason)
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
