package check_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestManyTargetsWithHangingOnes: 200 targets in one invocation, 20 of them hanging. The hanging
// ones must not queue the others behind them: the whole run, store writes included, ends within
// 1.5× the probe timeout.
func TestManyTargetsWithHangingOnes(t *testing.T) {
	const total, hangers, timeout = 200, 20, 2 * time.Second
	r := newRig(t, nil) // the default concurrency bound
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
	sum := r.run(t, in)
	took := time.Since(start)
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
	if limit := timeout * 3 / 2; took >= limit {
		t.Fatalf("200 targets with 20 hanging took %s, want under %s (1.5 × the %s timeout)", took, limit, timeout)
	}
	t.Logf("200 targets, 20 hanging past a %s timeout: %s (%d healthy answers judged slow on this machine)", timeout, took.Round(time.Millisecond), slow)
}
