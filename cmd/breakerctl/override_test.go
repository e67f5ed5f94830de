package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, ...events.Detail) error { return nil }

// TestForceOpenWinsOverAHealthyChecker: while an operator holds a circuit FORCED_OPEN, a checker
// probing a healthy service sends nothing and changes nothing; once cleared, the checker's probes
// count again. FORCED_CLOSED likewise keeps a failing service's circuit closed.
func TestForceOpenWinsOverAHealthyChecker(t *testing.T) {
	c := newCtl(t)
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	st := store.New(db, c.env["BREAKERBOX_TABLE"], store.Options{Timeout: 10 * time.Second})
	h, err := check.New(st, nopPublisher{}, check.Config{Policy: circuit.DefaultPolicy(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	var failing atomic.Bool
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer svc.Close()
	in := json.RawMessage(`{"id":"orders","url":"` + svc.URL + `"}`)
	probeOnce := func() check.TargetResult {
		t.Helper()
		sum, err := h.Handle(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return sum.Targets[0]
	}

	if r := probeOnce(); !r.Probed || r.State != "CLOSED" {
		t.Fatalf("before: %+v", r)
	}
	c.must("force-open", "orders", "--reason", "provider asked us to stop")
	before := hits.Load()
	for i := 0; i < 3; i++ {
		if r := probeOnce(); r.Probed || r.State != "FORCED_OPEN" {
			t.Fatalf("while forced open: %+v", r)
		}
	}
	if hits.Load() != before {
		t.Fatal("the checker probed a FORCED_OPEN service")
	}
	c.must("clear", "orders", "--reason", "provider is back")
	if r := probeOnce(); !r.Probed || !r.OK || r.State != "CLOSED" {
		t.Fatalf("after clear: %+v", r)
	}

	c.must("force-closed", "orders", "--reason", "failover tested by hand")
	failing.Store(true)
	for i := 0; i < 4; i++ {
		if r := probeOnce(); !r.Probed || r.OK || r.State != "FORCED_CLOSED" || len(r.Transitions) != 0 {
			t.Fatalf("while forced closed: %+v", r)
		}
	}
	out := c.must("get", "orders")
	if !strings.Contains(out, "FORCED_CLOSED") || !strings.Contains(out, "status 500") {
		t.Fatalf("get shows:\n%s", out)
	}
	c.must("clear", "orders")
	for i := 0; i < 3; i++ {
		probeOnce()
	}
	if r := probeOnce(); r.State != "OPEN" || r.Probed {
		t.Fatalf("after clearing FORCED_CLOSED, 3 failures must open it: %+v", r)
	}
}
