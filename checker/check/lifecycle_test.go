package check_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// flaky answers 200 or 503 as the test sets it.
func flaky(t *testing.T) (*server, *atomic.Bool) {
	var healthy atomic.Bool
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	return s, &healthy
}

func transitions(t *testing.T, r *rig, in string) []string {
	t.Helper()
	var out []string
	for _, tr := range r.run(t, in).Targets[0].Transitions {
		out = append(out, tr.From+">"+tr.To)
	}
	return out
}

// TestOpenProbedBackToClosed: OPEN is left alone until retryAt; then the checker takes the probe
// permit (OPEN → HALF_OPEN) and its probe is the trial; a failed trial reopens with a longer open
// time; two good trials close the circuit.
func TestOpenProbedBackToClosed(t *testing.T) {
	r := newRig(t, nil)
	svc, healthy := flaky(t)
	in := target("inv", svc.URL, "")
	for i := 0; i < 3; i++ {
		r.run(t, in)
	}
	c := r.get(t, "inv")
	if c.State != circuit.Open || c.LastError != "status 503 (want 200-399)" {
		t.Fatalf("after 3 failures: %s lastError %q", c.State, c.LastError)
	}
	healthy.Store(true)
	hits := svc.hits.Load()
	if got := r.run(t, in).Targets[0]; got.Probed || got.Skipped == "" {
		t.Fatalf("OPEN before retryAt: %+v", got)
	}
	if svc.hits.Load() != hits {
		t.Fatal("OPEN circuit was probed before retryAt")
	}

	// Past retryAt, but the service is still down: trial fails, back to OPEN for about twice as long.
	healthy.Store(false)
	r.clock.Advance(c.RetryAt.Sub(r.clock.Now()) + time.Second)
	if got := transitions(t, r, in); strings.Join(got, " ") != "OPEN>HALF_OPEN HALF_OPEN>OPEN" {
		t.Fatalf("failed trial: transitions %v", got)
	}
	c2 := r.get(t, "inv")
	first, second := c.RetryAt.Sub(c.Since), c2.RetryAt.Sub(c2.Since)
	if c2.State != circuit.Open || c2.OpenCount != 2 || second < first*3/2 || !strings.Contains(c2.Reason, "probe failed (status 503") {
		t.Fatalf("after failed trial: %s openCount %d open %s (first %s) reason %q", c2.State, c2.OpenCount, second, first, c2.Reason)
	}

	// Recovered: first good trial keeps HALF_OPEN, the second closes.
	healthy.Store(true)
	r.clock.Advance(c2.RetryAt.Sub(r.clock.Now()) + time.Second)
	if got := transitions(t, r, in); strings.Join(got, " ") != "OPEN>HALF_OPEN" {
		t.Fatalf("first good trial: transitions %v", got)
	}
	if c := r.get(t, "inv"); c.State != circuit.HalfOpen || c.ProbeSuccesses != 1 || len(c.Probes) != 0 {
		t.Fatalf("after first good trial: %s successes %d probes %v", c.State, c.ProbeSuccesses, c.Probes)
	}
	if got := transitions(t, r, in); strings.Join(got, " ") != "HALF_OPEN>CLOSED" {
		t.Fatalf("second good trial: transitions %v", got)
	}
	if c := r.get(t, "inv"); c.State != circuit.Closed || c.OpenCount != 0 {
		t.Fatalf("after recovery: %s openCount %d", c.State, c.OpenCount)
	}
	// Every transition was published once, in version order, each from where the previous ended.
	var chain []string
	prev := int64(0)
	for _, d := range r.pub.all() {
		if d.Version <= prev || d.ID != "inv" || d.At == "" || d.Reason == "" {
			t.Fatalf("published %+v after version %d", d, prev)
		}
		prev = d.Version
		chain = append(chain, d.From+">"+d.To)
	}
	if got := strings.Join(chain, " "); got != "CLOSED>OPEN OPEN>HALF_OPEN HALF_OPEN>OPEN OPEN>HALF_OPEN HALF_OPEN>CLOSED" {
		t.Fatalf("published %s", got)
	}
}

// TestHalfOpenPermitHeldElsewhere: while another caller holds the only probe permit, the checker
// sends nothing.
func TestHalfOpenPermitHeldElsewhere(t *testing.T) {
	r := newRig(t, nil)
	svc := newServer(t, ok)
	ctx := ctxT(t)
	now := r.clock.Now()
	if err := r.st.Put(ctx, circuit.Circuit{ID: "held", State: circuit.HalfOpen, Version: 1, Since: now,
		Probes: []circuit.Probe{{Permit: "extension:abc", Until: now.Add(30 * time.Second)}}}); err != nil {
		t.Fatal(err)
	}
	got := r.run(t, target("held", svc.URL, "")).Targets[0]
	if got.Probed || !strings.HasPrefix(got.Skipped, "another caller holds the half-open probe until ") || svc.hits.Load() != 0 {
		t.Fatalf("%+v, hits %d", got, svc.hits.Load())
	}
}

// TestForcedOpenIsNeverProbed: an operator's FORCED_OPEN wins: nothing is sent, nothing written.
func TestForcedOpenIsNeverProbed(t *testing.T) {
	r := newRig(t, nil)
	svc := newServer(t, ok)
	ctx := ctxT(t)
	if _, err := r.st.Force(ctx, "pinned", circuit.ForcedOpen, "maintenance", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	got := r.run(t, target("pinned", svc.URL, "")).Targets[0]
	if got.Probed || got.State != "FORCED_OPEN" || !strings.Contains(got.Skipped, "forced open") || svc.hits.Load() != 0 {
		t.Fatalf("%+v, hits %d", got, svc.hits.Load())
	}
	if c := r.get(t, "pinned"); c.Version != 1 {
		t.Fatalf("FORCED_OPEN circuit written: version %d", c.Version)
	}
}

// TestPublishFailureNeverBlocksTheWrite: with EventBridge unreachable the circuit still opens; the
// failure is counted in the summary and logged as structured JSON.
func TestPublishFailureNeverBlocksTheWrite(t *testing.T) {
	r := newRig(t, nil)
	svc, _ := flaky(t)
	r.pub.fail.Store(true)
	in := target("nobus", svc.URL, "")
	r.run(t, in)
	r.run(t, in)
	sum := r.run(t, in)
	if c := r.get(t, "nobus"); c.State != circuit.Open {
		t.Fatalf("state %s, want OPEN although the publish failed", c.State)
	}
	got := sum.Targets[0]
	if sum.PublishFailures != 1 || sum.Transitions != 1 || !strings.Contains(got.PublishError, "bus unreachable") {
		t.Fatalf("summary %+v", sum)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "state change written but not published" {
			found = rec["id"] == "nobus" && rec["from"] == "CLOSED" && rec["to"] == "OPEN" && rec["level"] == "ERROR"
		}
	}
	if !found {
		t.Fatalf("no structured log of the failed publish in:\n%s", r.logs.String())
	}
	// Not lost: the trip waits in the circuit item, and the next write of the circuit publishes it.
	c := r.get(t, "nobus")
	if len(c.Unpublished) != 1 || c.Unpublished[0].To != "OPEN" {
		t.Fatalf("outbox %+v, want the unpublished trip", c.Unpublished)
	}
	trip := c.Unpublished[0].Version
	r.pub.fail.Store(false)
	r.clock.Advance(time.Hour) // past retryAt: the next check moves the circuit to HALF_OPEN
	r.run(t, in)
	pub := r.pub.all()
	if len(pub) < 2 || pub[0].Version != trip || pub[0].To != "OPEN" || pub[1].From != "OPEN" || pub[1].To != "HALF_OPEN" {
		t.Fatalf("published %+v, want the recorded trip (version %d), then OPEN→HALF_OPEN", pub, trip)
	}
	seen := map[int64]bool{}
	for _, d := range pub {
		if seen[d.Version] {
			t.Fatalf("version %d published twice: %+v", d.Version, pub)
		}
		seen[d.Version] = true
	}
	if c := r.get(t, "nobus"); len(c.Unpublished) != 0 {
		t.Fatalf("outbox still holds %+v after a good publish", c.Unpublished)
	}
}

// TestTransitionsAreLogged: every transition is a JSON log line with id, from, to and reason.
func TestTransitionsAreLogged(t *testing.T) {
	r := newRig(t, nil)
	svc, _ := flaky(t)
	for i := 0; i < 3; i++ {
		r.run(t, target("logged", svc.URL, ""))
	}
	for _, line := range strings.Split(r.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "circuit state change" {
			if rec["id"] != "logged" || rec["from"] != "CLOSED" || rec["to"] != "OPEN" ||
				!strings.HasPrefix(rec["reason"].(string), "3 consecutive failures") || rec["version"] == nil {
				t.Fatalf("log record %v", rec)
			}
			return
		}
	}
	t.Fatalf("no transition log in:\n%s", r.logs.String())
}

// TestHealthyChecksAreWrittenOncePerHeartbeat: a healthy check that changes nothing is not written
// until the heartbeat; a failure always is.
func TestHealthyChecksAreWrittenOncePerHeartbeat(t *testing.T) {
	r := newRig(t, nil)
	svc, healthy := flaky(t)
	healthy.Store(true)
	in := target("steady", svc.URL, "")
	if got := r.run(t, in).Targets[0]; !got.Recorded || got.Version != 1 {
		t.Fatalf("first check: %+v", got)
	}
	first := r.get(t, "steady").CheckedAt
	r.clock.Advance(time.Minute)
	if got := r.run(t, in).Targets[0]; !got.Probed || !got.OK || got.Recorded || got.Version != 1 {
		t.Fatalf("routine check: %+v", got)
	}
	if c := r.get(t, "steady"); c.Version != 1 || !c.CheckedAt.Equal(first) {
		t.Fatalf("routine check was written: %+v", c)
	}
	r.clock.Advance(4 * time.Minute) // five minutes since the last written check
	if got := r.run(t, in).Targets[0]; !got.Recorded || got.Version != 2 {
		t.Fatalf("heartbeat check: %+v", got)
	}
	healthy.Store(false)
	if got := r.run(t, in).Targets[0]; !got.Recorded || got.Version != 3 {
		t.Fatalf("failed check: %+v", got)
	}
	healthy.Store(true)
	if got := r.run(t, in).Targets[0]; !got.Recorded || got.Version != 4 {
		t.Fatalf("recovery (clears lastError and the failure count): %+v", got)
	}
	if c := r.get(t, "steady"); c.LastError != "" || c.ConsecutiveFailures != 0 {
		t.Fatalf("after recovery: %+v", c)
	}
}
