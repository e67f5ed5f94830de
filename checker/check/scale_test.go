package check_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
)

// TestManyTargetsWithHangingOnes: 200 targets in one invocation, 20 of them hanging. The hanging
// ones must not queue the others behind them: the whole run, store reads and writes included, ends
// within 1.5× the probe timeout (a checker that ran the hanging ones in turns would take 2× at
// least, every time).
//
// What is timed is the steady state, the checker's run every minute; the first run, which creates
// the 200 circuits, is only logged. The overhead inside the remaining 0.5× is moto's: it serves
// DynamoDB one request at a time, about 1 ms per circuit read when the machine is idle and several
// when it is shared and loaded. So the timeout is 4 s (2 s of overhead allowed), and the run may be
// timed up to three times: load on a shared machine only ever adds time, while the property under
// test holds or fails on every run.
func TestManyTargetsWithHangingOnes(t *testing.T) {
	const total, hangers, timeout = 200, 20, 4 * time.Second
	// The default concurrency bounds. The hanging targets fail every run, and up to four runs are
	// made (the first and three timed ones): with the default three failures in a row their circuits
	// would open before the last timed run and be skipped, not probed, which is not what is timed.
	// Four runs never reach five in a row.
	r := newRig(t, func(c *check.Config) { c.Policy.ConsecutiveFailures = 5 })
	healthy := newServer(t, ok)
	hang := newServer(t, hanging(t))
	var list []string
	for i := 0; i < total; i++ {
		url := fmt.Sprintf("%s/svc/%d", healthy.URL, i)
		if i%(total/hangers) == 0 {
			url = fmt.Sprintf("%s/svc/%d", hang.URL, i)
		}
		list = append(list, target(fmt.Sprintf("svc-%03d", i), url, fmt.Sprintf(`,"timeout":%q`, timeout)))
	}
	in := `{"targets":[` + strings.Join(list, ",") + `]}`
	start := time.Now()
	checkSummary(t, r.run(t, in), total, hangers)
	t.Logf("first run, creating the circuits: %s", time.Since(start).Round(time.Millisecond))
	limit := timeout * 3 / 2
	var times []string
	for attempt := 1; attempt <= 3; attempt++ {
		start := time.Now()
		sum := r.run(t, in)
		took := time.Since(start)
		slow := checkSummary(t, sum, total, hangers)
		times = append(times, took.Round(time.Millisecond).String())
		if took < limit {
			t.Logf("200 targets, 20 hanging past a %s timeout: %s (attempts: %v; %d healthy answers judged slow on this machine)",
				timeout, took.Round(time.Millisecond), times, slow)
			return
		}
	}
	t.Fatalf("200 targets with 20 hanging took %v, want under %s (1.5 × the %s timeout)", times, limit, timeout)
}

// checkSummary checks every target's verdict and returns how many healthy answers were judged slow.
func checkSummary(t *testing.T, sum check.Summary, total, hangers int) int {
	t.Helper()
	if sum.Errors != 0 || len(sum.Targets) != total {
		t.Fatalf("summary: %d targets, %d not recorded (first: %+v)", len(sum.Targets), sum.Errors, sum.Targets[0])
	}
	slow := 0
	for i, got := range sum.Targets {
		hung := i%(total/hangers) == 0
		switch {
		case got.ID != fmt.Sprintf("svc-%03d", i) || !got.Probed:
			t.Fatalf("target %d: %+v", i, got)
		case hung && got.Error != "timeout":
			t.Fatalf("hanging target %d: %+v, want a timeout", i, got)
		case !hung && strings.HasPrefix(got.Error, "slow: "):
			// The healthy server runs in this race-instrumented process; on a starved machine 200
			// connections at once can be slow. That is not what this test is about.
			slow++
		case !hung && !got.OK:
			t.Fatalf("healthy target %d: %+v", i, got)
		}
	}
	return slow
}
