package check_test

import (
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
