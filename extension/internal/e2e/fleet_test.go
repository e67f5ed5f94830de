package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// fleet runs n concurrent invokes, so that each lands in its own sandbox, and releases their steps
// together: each touches a ready file, waits for the go file, then runs steps.
//
// It waits on the invokes themselves, not on a clock: until every sandbox is ready, or until an
// invoke ends before the release, which can only be a failure (its init failed, say) that no
// amount of waiting would mend; the test then fails at once with that invoke's error. Every invoke
// is bounded by the function's init timeout and timeout, so the wait ends.
func (r *rig) fleet(n int, steps ...step) []runtimeReply {
	r.t.Helper()
	dir := r.t.TempDir()
	gofile := filepath.Join(dir, "go")
	replies := make([]runtimeReply, n)
	errs := make([]error, n)
	ended := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		ready := filepath.Join(dir, fmt.Sprintf("ready-%d", i))
		all := append([]step{{Op: "touch", File: ready}, {Op: "wait", File: gofile}}, steps...)
		wg.Go(func() {
			replies[i], errs[i] = r.invokeRaw(all...)
			ended <- i
		})
	}
	release := func() {
		if err := os.WriteFile(gofile, nil, 0o644); err != nil {
			r.t.Error(err)
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		m, _ := filepath.Glob(filepath.Join(dir, "ready-*"))
		if len(m) == n {
			break
		}
		select {
		case i := <-ended:
			release() // the others wait for it, up to their timeout
			wg.Wait()
			why := fmt.Sprint(errs[i])
			if errs[i] == nil {
				why = fmt.Sprintf("results %+v", replies[i].Results)
			}
			r.t.Fatalf("invoke %d of %d ended before the release, with %d sandboxes ready: %s", i, n, len(m), why)
		case <-tick.C:
		}
	}
	release()
	wg.Wait()
	sandboxes := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			r.t.Fatalf("invoke %d: %v", i, err)
		}
		sandboxes[replies[i].Sandbox] = true
	}
	if len(sandboxes) != n {
		r.t.Fatalf("%d invokes ran in %d sandboxes, want one each", n, len(sandboxes))
	}
	return replies
}

// Five sandboxes race to acquire a HALF_OPEN circuit: exactly the configured number of probes get a
// permit, fleet-wide. A permit never reported expires with its lease and the slot is granted again.
//
// More than twice the probes race, so that granting one too many or one too few both show; more
// sandboxes would add no case, only processes (two per sandbox, built with -race) that must all
// start at once on a shared two-core machine.
func TestHalfOpenRaceGrantsExactlyTheProbes(t *testing.T) {
	const probes, racers = 2, 5
	lease := 4 * time.Second
	r := newRig(t, rigOptions{MaxConcurrency: racers, Env: []string{
		fmt.Sprintf("BREAKERBOX_HALF_OPEN_PROBES=%d", probes), "BREAKERBOX_PROBE_LEASE=" + lease.String(),
		"BREAKERBOX_CIRCUITS=inventory", "BREAKERBOX_CACHE_TTL=1m",
	}})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.HalfOpen, Since: time.Now(), OpenCount: 1, Reason: "probing"})

	replies := r.fleet(racers, post("/v1/circuits/inventory/acquire", ""))
	permits := map[string]bool{}
	for _, rep := range replies {
		d := decode[decision](t, rep.Results[2])
		if d.Allowed {
			if d.Permit == "" || permits[d.Permit] {
				t.Errorf("sandbox %s allowed without a new permit: %+v", rep.Sandbox, d)
			}
			permits[d.Permit] = true
		} else if d.State != "HALF_OPEN" || d.RetryAt == "" {
			t.Errorf("sandbox %s denied: %+v, want HALF_OPEN with retryAt", rep.Sandbox, d)
		}
	}
	if len(permits) != probes {
		t.Fatalf("%d permits granted across %d sandboxes, want exactly %d", len(permits), racers, probes)
	}
	c, err := r.get("inventory")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != circuit.HalfOpen || len(c.Probes) != probes {
		t.Fatalf("stored: %+v, want HALF_OPEN with %d probes", c, probes)
	}
	for _, p := range c.Probes {
		if !permits[p.Permit] {
			t.Errorf("stored probe %q was not granted to anyone", p.Permit)
		}
	}

	// Nobody reports; once the leases have run out a new permit is granted.
	time.Sleep(time.Until(c.Probes[len(c.Probes)-1].Until) + 200*time.Millisecond)
	d := decode[decision](t, r.invoke(post("/v1/circuits/inventory/acquire", "")).Results[0])
	if !d.Allowed || d.Permit == "" || permits[d.Permit] {
		t.Fatalf("after the leases expired: %+v, want a new permit", d)
	}

	// Reporting the call with its permit settles the trial at once and frees the slot.
	res := r.invoke(post("/v1/circuits/inventory/outcomes", `{"ok":true,"latencyMs":15,"permit":"`+d.Permit+`"}`)).Results[0]
	if res.Status != 202 {
		t.Fatalf("report with the permit: %d %s", res.Status, res.Body)
	}
	c, err = r.get("inventory")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != circuit.HalfOpen || c.ProbeSuccesses != 1 || len(c.Probes) != 0 {
		t.Fatalf("after the report: %+v, want HALF_OPEN with 1 successful probe and its slot free", c)
	}
}

// Failures and slow calls reported in three sandboxes trip the circuits per policy (failure rate,
// slow-call rate) through the sharded window; the table shows it, and every sandbox sees it after
// one TTL.
func TestReportedOutcomesTripAndEverySandboxSeesIt(t *testing.T) {
	const ttl = time.Second
	r := newRig(t, rigOptions{MaxConcurrency: 3, Env: []string{
		"BREAKERBOX_MIN_CALLS=10", "BREAKERBOX_CONSECUTIVE_FAILURES=0", "BREAKERBOX_SLOW_CALL=100ms",
		"BREAKERBOX_CACHE_TTL=" + ttl.String(), "BREAKERBOX_CIRCUITS=rate,slow",
	}})
	old := time.Now().Add(-time.Hour)
	r.put(circuit.Circuit{ID: "rate", State: circuit.Closed, Since: old})
	r.put(circuit.Circuit{ID: "slow", State: circuit.Closed, Since: old})

	// 3 sandboxes × 4 calls a round: each alone is under the 10-call minimum, together 9/12 failed,
	// 12/12 slow. The rates decide once the fleet's window has settled (a bucket that starts a settle
	// time after the first failure marked it), so the sandboxes keep being invoked until then.
	tripped := func(id string) bool {
		c, err := r.get(id)
		return err == nil && c.State == circuit.Open
	}
	waitFor(t, 3*time.Minute, "both circuits to trip in the table", func() bool {
		r.fleet(3,
			post("/v1/circuits/rate/outcomes", `{"outcomes":[{"ok":true,"latencyMs":5},{"ok":false,"latencyMs":5},{"ok":false,"latencyMs":5},{"ok":false,"latencyMs":5}]}`),
			post("/v1/circuits/slow/outcomes", `{"outcomes":[{"ok":true,"latencyMs":500},{"ok":true,"latencyMs":700},{"ok":true,"latencyMs":300},{"ok":true,"latencyMs":900}]}`),
		)
		return tripped("rate") && tripped("slow")
	})
	// The rates cross the threshold as the marked part of the window grows, so the reasons show the
	// rate at that moment, not the sandboxes' 75 % and 100 %.
	want := map[string]string{"rate": "failure rate ", "slow": "slow call rate "}
	for id, reason := range want {
		c, _ := r.get(id)
		if !strings.HasPrefix(c.Reason, reason) {
			t.Errorf("%s tripped with reason %q, want %q", id, c.Reason, reason)
		}
	}

	time.Sleep(ttl + ttl/5)
	for _, rep := range r.fleet(3, get("/v1/circuits/rate"), get("/v1/circuits/slow")) {
		for _, rs := range rep.Results[2:] {
			if v := decode[view](t, rs); v.State != "OPEN" || v.Allowed {
				t.Errorf("sandbox %s sees %s one TTL after the trip", rep.Sandbox, rs.Body)
			}
		}
	}
}

// Outcomes reported just before SHUTDOWN are flushed by it: they are in the table afterwards. The
// first failure (a slow one) is written by its report (nothing was written before); the next
// outcomes started after that write, within the flush interval (1h), so they wait in the buffer for
// SHUTDOWN. (A call is held by when it started: one reported with a latency that puts its start
// before the last write is written at once, fast or slow alike, so these report a latency of 0.)
func TestOutcomesReportedBeforeShutdownAreWritten(t *testing.T) {
	r := newRig(t, rigOptions{Env: []string{
		"BREAKERBOX_FLUSH_INTERVAL=1h", "BREAKERBOX_MIN_CALLS=1000", "BREAKERBOX_CONSECUTIVE_FAILURES=0",
	}})
	res := r.invoke(post("/v1/circuits/late/outcomes", `{"ok":false,"latencyMs":2500}`),
		post("/v1/circuits/late/outcomes", `{"outcomes":[{"ok":false,"latencyMs":0},{"ok":true,"latencyMs":0},{"ok":false,"latencyMs":0}]}`), get("/v1/stats")).Results
	if st := decode[stats](t, res[2]); st.OutcomesBuffered != 3 {
		t.Fatalf("before SHUTDOWN: %s, want the last 3 calls buffered", res[2].Body)
	}
	r.close()

	p := circuit.DefaultPolicy()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	buckets, err := r.store.ReadWindow(ctx, "late", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, now); got != (circuit.Counts{Calls: 4, Failures: 3, Slow: 1}) {
		t.Errorf("window after SHUTDOWN = %+v, want 4 calls, 3 failures, 1 slow", got)
	}
	if c, err := r.get("late"); err != nil || c.State != circuit.Closed {
		t.Errorf("circuit after SHUTDOWN: %+v, %v; want it created CLOSED by the first observation", c, err)
	}
}
