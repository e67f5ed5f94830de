package check_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// TestTrialEndsWithinTheProbeLease: a half-open trial whose target timeout is longer than the probe
// lease is cut at the lease, and the hanging service's timeout reopens the circuit. Run to its own
// timeout, the trial would come back with a permit that had lapsed meanwhile, be void, and leave the
// circuit HALF_OPEN for as long as the service hangs.
func TestTrialEndsWithinTheProbeLease(t *testing.T) {
	const lease = 5 * time.Second
	r := newRig(t, func(c *check.Config) { c.Policy.ProbeLease = lease })
	svc := newServer(t, hanging(t))
	now := r.clock.Now()
	if err := r.st.Put(ctxT(t), circuit.Circuit{ID: "leased", State: circuit.Open, Version: 1, OpenCount: 1,
		Since: now.Add(-time.Minute), RetryAt: now.Add(-time.Second), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	got := r.run(t, target("leased", svc.URL, `,"timeout":"20s"`)).Targets[0]
	var trs []string
	for _, tr := range got.Transitions {
		trs = append(trs, tr.From+">"+tr.To)
	}
	if strings.Join(trs, " ") != "OPEN>HALF_OPEN HALF_OPEN>OPEN" || got.Error != "timeout" {
		t.Fatalf("transitions %v, result %+v: want the trial to time out within the %s lease and reopen", trs, got, lease)
	}
	if c := r.get(t, "leased"); c.State != circuit.Open || !strings.Contains(c.Reason, "probe failed (timeout)") || len(c.Probes) != 0 {
		t.Fatalf("stored %s reason %q probes %v", c.State, c.Reason, c.Probes)
	}
}

// TestTrialNotShortenedByAWaitForAProbeSlot: with every probe slot taken by a hanging service, a
// half-open trial waits for a slot before it takes the probe permit, not after: holding the permit
// through the wait would eat its lease and leave the trial too little time, and a healthy but
// unhurried service would fail it and be reopened.
func TestTrialNotShortenedByAWaitForAProbeSlot(t *testing.T) {
	const lease = 5 * time.Second
	r := newRig(t, func(c *check.Config) { c.Policy.ProbeLease, c.Concurrency = lease, 1 })
	hang := newServer(t, hanging(t))
	unhurried := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	now := r.clock.Now()
	if err := r.st.Put(ctxT(t), circuit.Circuit{ID: "trial", State: circuit.Open, Version: 1, OpenCount: 1,
		Since: now.Add(-time.Minute), RetryAt: now.Add(-time.Second), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	// The hanging target takes the only slot at once; the trial reaches it after its store write.
	in := `{"targets":[` + target("hang", hang.URL, `,"timeout":"3500ms"`) + `,` +
		target("trial", unhurried.URL, `,"timeout":"4s","slowCall":"3s"`) + `]}`
	got := byID(r.run(t, in))["trial"]
	if !got.OK || got.Error != "" {
		t.Fatalf("trial %+v: want it given its own timeout, not what the lease kept after a wait for a slot", got)
	}
	if c := r.get(t, "trial"); c.State != circuit.HalfOpen || c.ProbeSuccesses != 1 {
		t.Fatalf("stored %s with %d successes, want HALF_OPEN with 1", c.State, c.ProbeSuccesses)
	}
}
