package check_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// On Lambda Managed Instances one Handler serves many invocations at once (aws-lambda-go runs
// AWS_LAMBDA_MAX_CONCURRENCY of them in one process): eight concurrent invokes, each checking its
// own service, each get their own answer and write their own circuit, race-free.
func TestOneHandlerServesConcurrentInvokes(t *testing.T) {
	r := newRig(t, nil)
	up := newServer(t, ok)
	down := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			url := up.URL
			if i%2 == 1 {
				url = down.URL
			}
			id := fmt.Sprintf("svc-%d", i)
			for range 4 {
				sum, err := r.h.Handle(ctxT(t), json.RawMessage(target(id, url, "")))
				if err != nil {
					t.Error(err)
					return
				}
				if len(sum.Targets) != 1 || sum.Targets[0].ID != id || sum.Targets[0].OK != (i%2 == 0) {
					t.Errorf("invoke for %s answered %+v", id, sum.Targets)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		want := circuit.Closed
		if i%2 == 1 {
			want = circuit.Open // three failed probes in a row
		}
		if c := r.get(t, fmt.Sprintf("svc-%d", i)); c.State != want {
			t.Errorf("svc-%d is %s, want %s", i, c.State, want)
		}
	}
}
