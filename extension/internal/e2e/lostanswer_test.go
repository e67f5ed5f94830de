package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// dropFirstAnswer is a proxy in front of moto that forwards every request and answers it, except
// the first counter write (an UpdateItem with "ADD calls"): that one reaches moto and lands, and its
// answer is never sent (the connection is closed instead), as when a network drops it.
type dropFirstAnswer struct {
	target  string
	hc      *http.Client
	adds    atomic.Int64
	dropped atomic.Int64
}

func (p *dropFirstAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	status, header, answer, err := forward(p.hc, p.target, r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if strings.Contains(string(body), "ADD calls") {
		if p.adds.Add(1) == 1 {
			p.dropped.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // the write landed; its answer is lost
				return
			}
		}
	}
	answerWith(w, status, header, answer)
}

// TestLostFlushAnswerCountsOnce: the extension's counter write lands in DynamoDB but its answer is
// lost; the write is retried (by the SDK, or by the next flush as it was) and the window counts the
// calls once.
func TestLostFlushAnswerCountsOnce(t *testing.T) {
	srv := mototest.Shared(t)
	proxy := &dropFirstAnswer{target: srv.URL, hc: &http.Client{Timeout: time.Minute}}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	r := newRig(t, rigOptions{MaxConcurrency: 1, Env: []string{"AWS_ENDPOINT_URL_DYNAMODB=" + ps.URL, "BREAKERBOX_COUNTER_SHARDS=1"}})
	r.put(circuit.Circuit{ID: "inv", State: circuit.Closed, Since: time.Now().Add(-time.Hour), Reason: "created"})

	r.invoke(call("inv", 4, 1)...)
	waitFor(t, 2*time.Minute, "the counter write to be retried", func() bool { return proxy.adds.Load() >= 2 })
	if proxy.dropped.Load() != 1 {
		t.Fatalf("the proxy dropped %d answers, want 1", proxy.dropped.Load())
	}
	p := circuit.DefaultPolicy()
	now := time.Now()
	buckets, err := r.store.ReadWindow(ctxE2E(t), "inv", 1, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SumWindow(buckets, time.Time{}, now); got != (circuit.Counts{Calls: 5, Failures: 1}) {
		t.Fatalf("window %+v after a lost answer and its retry, want 5 calls and 1 failure, counted once", got)
	}
}
