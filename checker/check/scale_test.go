package check_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
)

// TestManyTargetsWithHangingOnes: 200 targets in one invocation, 20 of them hanging past the probe
// timeout. The hanging ones must not queue the others behind them, nor each other: every hanging
// probe is in flight at once, and every healthy target has been asked before the first hanging
// probe gives up. A checker that ran the hanging ones in turns, or held the healthy ones behind a
// hanging one, fails both, whatever the machine's speed (with the checker's concurrency at 10: 10 of
// the 20 hanging probes at once, 82 of 180 healthy targets asked). The run's duration beside the
// timeout is logged as a figure, not asserted: a loaded machine only adds time to it.
//
// What is checked is the steady state, the checker's run every minute; the first run, which creates
// the 200 circuits, is only logged.
func TestManyTargetsWithHangingOnes(t *testing.T) {
	const total, hangers, timeout = 200, 20, 4 * time.Second
	// The hanging targets fail every run, and two runs are made: with the default three failures in
	// a row their circuits stay closed, so the second run probes them too.
	r := newRig(t, nil)
	healthy := newServer(t, ok)
	hung := newHangTracker(t)
	hang := newServer(t, hung.handle)
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

	hung.reset(healthy)
	start = time.Now()
	slow := checkSummary(t, r.run(t, in), total, hangers)
	took := time.Since(start)
	peak, askedBefore := hung.result()
	if peak != hangers {
		t.Errorf("at most %d of the %d hanging probes were in flight at once, want all of them", peak, hangers)
	}
	if askedBefore != total-hangers {
		t.Errorf("%d of the %d healthy targets had been asked when the first hanging probe gave up, want all", askedBefore, total-hangers)
	}
	t.Logf("200 targets, 20 hanging past a %s timeout: %s, store reads and writes included (%d healthy answers judged slow on this machine)",
		timeout, took.Round(time.Millisecond), slow)
}

// hangTracker is a handler that hangs until its client gives up, and records how many of its
// requests were in flight at once and how many requests another server had received when the
// first of them ended.
type hangTracker struct {
	mu          sync.Mutex
	inFlight    int
	peak        int
	ended       bool
	other       *server
	askedBefore int64
	done        chan struct{}
}

func newHangTracker(t *testing.T) *hangTracker {
	h := &hangTracker{done: make(chan struct{})}
	t.Cleanup(func() { close(h.done) })
	return h
}

// reset starts a new count, reading other's hits at the first hanging request's end.
func (h *hangTracker) reset(other *server) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight, h.peak, h.ended, h.askedBefore = 0, 0, false, 0
	h.other = other
	other.hits.Store(0)
}

func (h *hangTracker) result() (peak int, askedBefore int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak, h.askedBefore
}

func (h *hangTracker) handle(_ http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.inFlight++
	h.peak = max(h.peak, h.inFlight)
	h.mu.Unlock()
	select {
	case <-h.done:
	case <-r.Context().Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ended && h.other != nil {
		h.ended = true
		h.askedBefore = h.other.hits.Load()
	}
	h.inFlight--
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
