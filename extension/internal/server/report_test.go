package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
)

// reportRig serves fakeService with a fixed request bound, writing on report or not.
func reportRig(t *testing.T, svc *fakeService, writeOnReport bool, end time.Time) *rig {
	srv := httptest.NewServer(Handler(svc, Options{Token: token, WriteOnReport: writeOnReport,
		Bound: func(ctx context.Context) (context.Context, context.CancelFunc) { return context.WithDeadline(ctx, end) }}))
	t.Cleanup(srv.Close)
	return &rig{t: t, srv: srv, svc: svc}
}

const oneFailure = `{"ok":false,"latencyMs":12,"error":"status 503"}`

// A report that puts a decision at stake is written before it is answered, within the bound.
func TestReportWritesWhatIsAtStakeBeforeItAnswers(t *testing.T) {
	end := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	svc := &fakeService{stake: breaker.StakeDecision}
	r := reportRig(t, svc, true, end)
	if st, _, body := r.call(http.MethodPost, "/v1/circuits/inventory/outcomes", token, strings.NewReader(oneFailure)); st != http.StatusAccepted {
		t.Fatalf("report: %d %s", st, body)
	}
	w := svc.written()
	if len(w) != 1 || w[0].id != "inventory" || !w[0].deadline.Equal(end) {
		t.Fatalf("writes when answered: %+v, want one for inventory bounded by %v", w, end)
	}
	// Every request is bounded the same way.
	r.call(http.MethodPost, "/v1/circuits/inventory/acquire", token, nil)
	svc.mu.Lock()
	d := svc.acquireDeadline
	svc.mu.Unlock()
	if !d.Equal(end) {
		t.Errorf("acquire's context deadline %v, want %v", d, end)
	}
}

// Calls of a marked circuit are written without the answer waiting for the write.
func TestReportDoesNotWaitForCountsOfAMarkedCircuit(t *testing.T) {
	end := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	svc := &fakeService{stake: breaker.StakeCounts, hold: make(chan struct{})}
	r := reportRig(t, svc, true, end)
	if st, _, body := r.call(http.MethodPost, "/v1/circuits/inventory/outcomes", token, strings.NewReader(`{"ok":true,"latencyMs":3}`)); st != http.StatusAccepted {
		t.Fatalf("report: %d %s", st, body) // answered while the write is held
	}
	deadline := time.Now().Add(time.Minute)
	for len(svc.written()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the write never started")
		}
		time.Sleep(time.Millisecond)
	}
	// A second report while that write is in flight starts no other.
	r.call(http.MethodPost, "/v1/circuits/inventory/outcomes", token, strings.NewReader(`{"ok":true,"latencyMs":3}`))
	close(svc.hold)
	if w := svc.written(); len(w) != 1 || !w[0].deadline.Equal(end) {
		t.Errorf("writes: %+v, want one bounded by %v", w, end)
	}
}

// Healthy reports, and every report without WriteOnReport (Lambda Managed Instances), only buffer.
func TestReportsThatOnlyBuffer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stake breaker.Stake
		write bool
	}{{"nothing at stake", breaker.StakeNone, true}, {"managed instances", breaker.StakeDecision, false}} {
		svc := &fakeService{stake: tc.stake}
		r := reportRig(t, svc, tc.write, time.Now().Add(time.Hour))
		if st, _, body := r.call(http.MethodPost, "/v1/circuits/inventory/outcomes", token, strings.NewReader(oneFailure)); st != http.StatusAccepted {
			t.Fatalf("%s: report: %d %s", tc.name, st, body)
		}
		if w := svc.written(); len(w) != 0 {
			t.Errorf("%s: writes %+v, want none", tc.name, w)
		}
	}
}
