package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// invokeTimed runs the steps in one invocation and returns the platform's durations: what the
// extension added after the runtime's answer is Duration − RuntimeDuration.
func (r *rig) invokeTimed(steps ...step) (runtime, after time.Duration, err error) {
	payload, _ := json.Marshal(runtimeRequest{Steps: steps})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := r.fn.Invoke(ctx, payload)
	if err == nil {
		err = res.Err()
	}
	return res.RuntimeDuration, res.Duration - res.RuntimeDuration, err
}

// A handler that answers 40 ms before its 1 s timeout is answered, not timed out: the extension has
// asked for its next event while the handler still runs, so nothing of the invocation waits for it
// after the answer (it used to wait for the Telemetry API's runtimeDone, buffered at least 25 ms,
// then flush). The first check is structural: the extension is ready while the handler sleeps. The
// second is the platform's verdict: an invocation whose runtime answered before the timeout must
// not time out. One whose handler itself answered after its deadline (40 ms is little on a loaded
// machine: the runtime's answer never reached the platform in time) says nothing of the extension:
// it is tried again, after an invocation that warms the new sandbox, ten times at most.
func TestAnswerNearTheTimeoutIsAnswered(t *testing.T) {
	r := newRig(t, rigOptions{Freeze: true, MaxConcurrency: 1, Timeout: time.Second, Env: []string{"BREAKERBOX_CIRCUITS=inventory"}})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now()})
	dir := t.TempDir()
	warm := func() {
		// A timeout resets the sandbox: its next invocation would be a cold one.
		if _, _, err := r.invokeTimed(step{Op: "client.do", ID: "inventory"}); err != nil {
			t.Fatalf("warm-up invocation: %v", err)
		}
	}
	warm()
	for i := 1; i <= 5; i++ {
		for attempt := 1; ; attempt++ {
			running := filepath.Join(dir, fmt.Sprintf("running-%d-%d", i, attempt))
			answering := filepath.Join(dir, fmt.Sprintf("answering-%d-%d", i, attempt))
			type result struct {
				rt, after time.Duration
				err       error
			}
			done := make(chan result, 1)
			var ended atomic.Bool
			go func() {
				var res result
				res.rt, res.after, res.err = r.invokeTimed(step{Op: "client.do", ID: "inventory"}, step{Op: "touch", File: running},
					step{Op: "untilDeadline", Ms: 40}, step{Op: "touch", File: answering})
				ended.Store(true)
				done <- res
			}()
			ready := extensionReadyWhileRunning(r, running, answering, &ended)
			res := <-done
			if !ready {
				t.Fatalf("invocation %d: the extension had not asked for its next event while the handler ran: the invocation's end waits for it after the answer (%v)", i, res.err)
			}
			t.Logf("invocation %d, attempt %d: runtime %s, after the answer %s, %v", i, attempt, res.rt, res.after, res.err)
			if res.err == nil {
				break
			}
			if res.rt > 0 {
				t.Fatalf("invocation %d: the runtime answered %s after dispatch, before its 1s timeout, and the invocation timed out %s later: %v", i, res.rt, res.after, res.err)
			}
			if attempt == 10 {
				t.Fatalf("invocation %d: the handler answered after its own deadline %d times in a row with the extension ready: %v", i, attempt, res.err)
			}
			warm()
		}
	}
}

// extensionReadyWhileRunning waits until the handler has created the file running, then until the
// sandbox's extension is ready (has asked for its next event), as long as the handler has not
// created the file answering (just before it answers) and the invocation runs (ended not set).
func extensionReadyWhileRunning(r *rig, running, answering string, ended *atomic.Bool) bool {
	for {
		if _, err := os.Stat(running); err == nil {
			break
		}
		if ended.Load() {
			r.t.Fatal("the invocation ended before its handler ran")
		}
		time.Sleep(time.Millisecond)
	}
	for !ended.Load() {
		sb := r.fn.Sandboxes()
		if _, err := os.Stat(answering); err == nil {
			return false // seen only after the handler was done
		}
		if len(sb) == 1 && len(sb[0].Extensions) == 1 && sb[0].Extensions[0].Ready {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// With the store's writes held (a throttled or unreachable DynamoDB at its worst), healthy
// invocations of a circuit whose window is marked bad (the calls the fleet-true rule writes) are
// answered at once: no invocation waits for a store call after, or before, its answer.
func TestHeldStoreWritesNeverSlowAHealthyInvocation(t *testing.T) {
	t.Parallel()
	proxy := newStoreProxy(t, mototest.Shared(t).URL)
	// The function's timeout is far shorter than the store's: an invocation that waited for a write
	// would time out.
	r := newRig(t, rigOptions{Freeze: true, MaxConcurrency: 1, Timeout: 20 * time.Second, Env: []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + proxy.url, "BREAKERBOX_STORE_TIMEOUT=1h", "BREAKERBOX_CIRCUITS=inventory"}})
	t.Cleanup(proxy.Release) // before the rig shuts down (cleanups run last first)
	now := time.Now()
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: now.Add(-time.Hour), BadSince: now.Add(-time.Minute), BadUntil: now.Add(time.Hour)})
	proxy.Hold()
	for i := 1; i <= 5; i++ {
		rt, after, err := r.invokeTimed(step{Op: "client.do", ID: "inventory"})
		if err != nil {
			t.Fatalf("healthy invocation %d with the store's writes held: %v", i, err)
		}
		t.Logf("invocation %d: runtime %s, after the answer %s", i, rt, after)
	}
	if proxy.writes.Load() == 0 {
		t.Fatal("no write was tried: the marked circuit's calls were never due, the test shows nothing")
	}
}

// In an incident (a circuit's window marked bad, failures and successes reported), one environment
// makes at most one counter write per circuit per flush interval, however many invocations that
// interval holds; what it kept is written at SHUTDOWN, none of it lost.
func TestIncidentWritesAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	proxy := newStoreProxy(t, mototest.Shared(t).URL)
	r := newRig(t, rigOptions{Freeze: true, MaxConcurrency: 1, Env: []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + proxy.url, "BREAKERBOX_FLUSH_INTERVAL=1h", "BREAKERBOX_WINDOW=10m", "BREAKERBOX_COUNTER_SHARDS=1",
		// Never trips: every write is a counter write (and the mark), as in an incident below the threshold.
		"BREAKERBOX_CONSECUTIVE_FAILURES=0", "BREAKERBOX_MIN_CALLS=1000000000"}})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now().Add(-time.Hour)})
	const n = 20
	failures := int64(0)
	for i := range n {
		fail := i%4 == 0
		if fail {
			failures++
		}
		if res := r.invoke(step{Op: "client.do", ID: "inventory", Fail: fail}).Results[0]; !contains(string(res.Body), `"called":true`) {
			t.Fatalf("invocation %d: %s %s", i+1, res.Body, res.Err)
		}
	}
	if adds := proxy.adds.Load(); adds != 1 {
		t.Fatalf("%d counter writes in %d invocations with a 1h flush interval, want 1", adds, n)
	}
	if got := windowAfterShutdown(t, r); got.Calls != n || got.Failures != failures {
		t.Errorf("window after SHUTDOWN %+v, want all %d calls and %d failures", got, n, failures)
	}
	// SHUTDOWN's final flush is one write: one ADD per bucket item its calls fall in, each item
	// once. Calls made within a second or two fall in one bucket, or in two when the run crossed a
	// bucket's edge (a 100 s bucket of the 10m window: make test once crossed one at 20:18:20).
	ws := proxy.counterWrites()
	seen := map[string]bool{}
	for _, w := range ws[1:] {
		if seen[w.key] {
			t.Errorf("counter item %q written twice at SHUTDOWN: %v", w.key, ws)
		}
		seen[w.key] = true
	}
	if len(ws) < 2 || len(ws) > 3 {
		t.Errorf("%d counter writes after SHUTDOWN, want 2 (3 when the calls crossed a bucket's edge): %v", len(ws), ws)
	}
}

// Around a thaw, one environment still writes a counter item at most once per flush interval: the
// call held at the end of one invocation goes out with the next invocation's report, in one write,
// not in a write of the INVOKE's background flush followed by the report's own a moment later (two
// budgets, before issue 18's last item). The check needs no clock of the test's: two writes of one
// item less than half an interval apart, as the proxy sees them, are two writes in one interval.
func TestIncidentWritesStayOnePerIntervalAroundAThaw(t *testing.T) {
	t.Parallel()
	const interval = 3 * time.Second
	proxy := newStoreProxy(t, mototest.Shared(t).URL)
	r := newRig(t, rigOptions{Freeze: true, MaxConcurrency: 1, Env: []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + proxy.url, "BREAKERBOX_FLUSH_INTERVAL=" + interval.String(), "BREAKERBOX_WINDOW=10m", "BREAKERBOX_COUNTER_SHARDS=1",
		// Never trips: every write is a counter write (and the mark), as in an incident below the threshold.
		"BREAKERBOX_CONSECUTIVE_FAILURES=0", "BREAKERBOX_MIN_CALLS=1000000000"}})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now().Add(-time.Hour)})
	call := func(what string) {
		t.Helper()
		if res := r.invoke(step{Op: "client.do", ID: "inventory", Fail: true}).Results[0]; !contains(string(res.Body), `"called":true`) {
			t.Fatalf("%s: %s %s", what, res.Body, res.Err)
		}
	}
	call("first invocation")  // written and judged in the report call
	call("second invocation") // started within the interval after that write: held, and frozen
	held := proxy.adds.Load() == 1
	time.Sleep(interval)     // frozen past the interval
	call("third invocation") // thawed: its report carries the held call
	ws := proxy.counterWrites()
	last := map[string]time.Time{}
	for _, w := range ws {
		if at, ok := last[w.key]; ok && w.at.Sub(at) < interval/2 {
			t.Errorf("counter item %q written at %v and again %v later: twice within the %v interval", w.key, at.Format(time.StampMilli), w.at.Sub(at), interval)
		}
		last[w.key] = w.at
	}
	if !held {
		t.Logf("the second call was not held (the machine took over %v between the first two invocations); the thaw was not exercised", interval)
	}
	if got := windowAfterShutdown(t, r); got.Calls != 3 || got.Failures != 3 {
		t.Errorf("window after SHUTDOWN %+v, want the 3 calls, none lost", got)
	}
}

// windowAfterShutdown shuts the rig's environments down (SHUTDOWN writes what was kept) and returns
// the inventory circuit's counts over the last ten minutes, as the store holds them.
func windowAfterShutdown(t *testing.T, r *rig) circuit.Counts {
	t.Helper()
	r.close()
	p := circuit.DefaultPolicy()
	p.Window = 10 * time.Minute
	now := time.Now()
	buckets, err := r.store.ReadWindow(ctxE2E(t), "inventory", 1, p, now)
	if err != nil {
		t.Fatal(err)
	}
	return p.SumWindow(buckets, time.Time{}, now)
}
