package check_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// TestTwoCheckersNeverLoseOrDuplicateATransition: two checkers (each with its own store client)
// probe one circuit at the same moments while the service goes down and comes back, through many
// CLOSED → OPEN → HALF_OPEN → CLOSED cycles. Every transition must be reported by exactly one of
// them, and, in version order, each must start where the previous one ended, and the last must end
// where the stored circuit is.
func TestTwoCheckersNeverLoseOrDuplicateATransition(t *testing.T) {
	st1, db := newTable(t)
	st2 := store.New(db, st1.Table(), store.Options{Timeout: 10 * time.Second, MaxAttempts: 1000})
	pol := circuit.DefaultPolicy()
	pol.OpenDuration, pol.MaxOpenDuration = 20*time.Millisecond, 20*time.Millisecond
	var down atomic.Bool
	svc := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	pubs := []*recorder{{}, {}}
	var handlers []*check.Handler
	for i, st := range []*store.Store{st1, st2} {
		h, err := check.New(st, pubs[i], check.Config{Policy: pol, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		handlers = append(handlers, h)
	}
	in := json.RawMessage(target("contended", svc.URL, ""))
	var reported []events.Detail
	var mu sync.Mutex
	for round := 0; round < 36; round++ {
		down.Store(round%12 < 6) // six rounds down (trip, failed trials), six up (trials, close)
		var wg sync.WaitGroup
		for _, h := range handlers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum, err := h.Handle(ctxT(t), in)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				reported = append(reported, sum.Targets[0].Transitions...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		time.Sleep(25 * time.Millisecond) // past retryAt
	}
	if t.Failed() {
		return
	}
	published := append(pubs[0].all(), pubs[1].all()...)
	sort.Slice(reported, func(i, j int) bool { return reported[i].Version < reported[j].Version })
	sort.Slice(published, func(i, j int) bool { return published[i].Version < published[j].Version })
	if len(reported) != len(published) {
		t.Fatalf("%d transitions reported, %d published", len(reported), len(published))
	}
	kinds := map[string]int{}
	for i, d := range reported {
		if published[i] != d {
			t.Fatalf("reported %+v but published %+v", d, published[i])
		}
		if i > 0 && d.Version == reported[i-1].Version {
			t.Fatalf("version %d reported twice: %+v and %+v", d.Version, reported[i-1], d)
		}
		prevTo := "CLOSED"
		if i > 0 {
			prevTo = reported[i-1].To
		}
		if d.From != prevTo {
			t.Fatalf("gap before version %d: %s → %s follows a transition to %s", d.Version, d.From, d.To, prevTo)
		}
		kinds[d.From+">"+d.To]++
	}
	c, err := st1.GetConsistent(ctxT(t), "contended")
	if err != nil {
		t.Fatal(err)
	}
	if last := reported[len(reported)-1]; c.Label() != last.To {
		t.Fatalf("stored %s, but the last transition went to %s", c.Label(), last.To)
	}
	for _, k := range []string{"CLOSED>OPEN", "OPEN>HALF_OPEN", "HALF_OPEN>CLOSED", "HALF_OPEN>OPEN"} {
		if kinds[k] < 2 {
			t.Fatalf("only %d %s transitions in %v: the test did not exercise the cycle", kinds[k], k, kinds)
		}
	}
	t.Logf("%d transitions: %v", len(reported), kinds)
}
