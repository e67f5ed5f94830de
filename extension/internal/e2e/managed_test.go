package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Lambda Managed Instances, 8 invocations at a time in one environment: the real extension starts
// (registered for SHUTDOWN only), 64 invocations each acquire, call a failing provider and report;
// the extension's own clock flushes the failures and trips the circuit; then every invocation sees
// it OPEN and makes no call; and what is reported last is flushed by SHUTDOWN.
func TestManagedInstancesEightAtATime(t *testing.T) {
	// A long open duration: the circuit stays OPEN (no half-open probe) however slow the machine.
	r := newRig(t, rigOptions{Managed: 8, Env: []string{"BREAKERBOX_FLUSH_INTERVAL=500ms", "BREAKERBOX_OPEN_DURATION=5m"}})
	type doResult struct {
		Called bool `json:"called"`
		Open   bool `json:"open"`
	}
	run := func(n int, steps ...step) []doResult {
		t.Helper()
		var mu sync.Mutex
		var out []doResult
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range n / 8 {
					rep, err := r.invokeRaw(steps...)
					if err != nil {
						t.Error(err)
						return
					}
					var d doResult
					if err := json.Unmarshal(rep.Results[0].Body, &d); err != nil {
						t.Errorf("client.do result %s: %v", rep.Results[0].Body, err)
						return
					}
					mu.Lock()
					out = append(out, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return out
	}

	first := run(64, step{Op: "client.do", ID: "payments", Fail: true}, step{Op: "sleep", Ms: 10})
	if len(first) != 64 {
		t.Fatalf("%d of 64 invocations answered", len(first))
	}
	calls := 0
	for _, d := range first {
		if d.Called {
			calls++
		}
	}
	if calls < 3 {
		t.Fatalf("%d calls made, want at least the 3 that trip the circuit", calls)
	}
	if sb := r.fn.Sandboxes(); len(sb) != 1 || sb[0].Invokes != 64 || sb[0].Frozen {
		t.Fatalf("sandboxes %+v: want one environment, never frozen, that served all 64", sb)
	}
	if ext := r.fn.Sandboxes()[0].Extensions; len(ext) != 1 || len(ext[0].Events) != 1 || ext[0].Events[0] != "SHUTDOWN" {
		t.Fatalf("extension registration %+v, want SHUTDOWN only", ext)
	}
	// The 64 calls are all made before the environment knows its own first failure's mark, so none
	// counts as settled (docs/design.md, the flush rule), and the window holds too many calls for the
	// run rule: the circuit trips once the last of them leaves the 60 s window, 60 s after the start
	// of its 10 s bucket, at the next redecision (a flush interval). When the calls straddle a bucket
	// boundary that is a minute after the last of them, which a one-minute wait raced and lost once
	// (the trip came at the SHUTDOWN that followed).
	waitFor(t, 3*time.Minute, "the circuit OPEN in DynamoDB", func() bool {
		c, err := r.get("payments")
		return err == nil && c.State == circuit.Open
	})

	for _, d := range run(16, step{Op: "client.do", ID: "payments", Fail: true}) {
		if d.Called || !d.Open {
			t.Fatalf("after the trip an invocation got %+v, want the call denied as OPEN", d)
		}
	}

	// Reported last, closed at once: the SHUTDOWN flush writes it.
	rep := r.invoke(step{Op: "client.report", ID: "inventory", OK: false, Ms: 5}, get("/v1/stats"))
	if rep.Results[0].Err != "" {
		t.Fatal(rep.Results[0].Err)
	}
	if st := decode[stats](t, rep.Results[1]); st.OutcomesBuffered < 1 {
		t.Fatalf("stats %s: want the failure still buffered before SHUTDOWN", rep.Results[1].Body)
	}
	r.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	window, err := r.store.ReadWindow(ctx, "inventory", 4, circuit.DefaultPolicy(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var failures int64
	for _, b := range window {
		failures += b.Counts.Failures
	}
	if failures != 1 {
		t.Errorf("inventory's window after SHUTDOWN holds %d failures, want the 1 reported last", failures)
	}
}
