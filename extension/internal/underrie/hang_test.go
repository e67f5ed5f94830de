package underrie

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Calls that hang, under AWS's emulator in both models: one invocation makes a call through the Go
// client every 100 ms, none of which ends until the test sees the circuit OPEN in DynamoDB, and goes
// on until an acquire is denied (the policy needs ten calls made once the environment knew the
// first was slow, and older than its lag, see docs/design.md; how many that takes depends on the
// machine's speed, so the calls go on until the circuit opens). The
// extension counts each call as slow once it has run past the slow-call threshold, while the
// invocation is still running, so the circuit opens before any call ends; before, the extension
// learned of a slow call from its outcome, and the test would wait in vain.
func TestHangingCallsTripWhileUnderWay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		managed int
	}{{"default model", 0}, {"managed instances", 16}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 2*time.Minute, tc.managed, "BREAKERBOX_FLUSH_INTERVAL=500ms", "BREAKERBOX_OPEN_DURATION=5m")
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			now := time.Now()
			if err := r.store.Put(ctx, circuit.Circuit{ID: "slowpay", State: circuit.Closed, Version: 1, Since: now.Add(-time.Hour), Reason: "created", UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			// The function runs as the emulator's sandbox user: the directory is for everyone.
			release, err := os.MkdirTemp("", "underrie-hang-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(release) })
			if err := os.Chmod(release, 0o777); err != nil {
				t.Fatal(err)
			}
			answered := make(chan reply, 1)
			go func() {
				resp, err := r.invoke(request{Circuit: "slowpay", Hang: true, GapMs: 100, Release: release})
				if err != nil {
					t.Error(err)
					answered <- reply{}
					return
				}
				answered <- r.answer(resp)
			}()
			var c circuit.Circuit
			waitFor(t, "slowpay OPEN in DynamoDB while its calls hang", func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err = r.store.Get(ctx, "slowpay")
				return err == nil && c.State == circuit.Open
			})
			if err := os.WriteFile(filepath.Join(release, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			got := <-answered
			if !strings.HasPrefix(c.Reason, "slow call rate") {
				t.Errorf("OPEN for %q, want the slow call rate", c.Reason)
			}
			t.Logf("OPEN while the calls hung (%d made; one denied before the release: %v): %s", got.Hung, got.Open, c.Reason)
		})
	}
}
