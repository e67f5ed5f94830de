package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// provider is the downstream API the worker calls (PROVIDER_URL): the test decides its answers.
type provider struct {
	srv *httptest.Server

	mu        sync.Mutex
	status    func(id string, call int) int // the answer to the call-th call for id
	delay     time.Duration
	calls     map[string]int
	successes map[string]int
	order     []string // ids in the order their calls succeeded
	// inflight is the number of calls being served; arrivals holds, for every call in the order
	// they arrived, how many were being served then (itself included). After slowAfter arrivals
	// (when it is set) every call takes slowDelay.
	inflight  int
	arrivals  []int
	slowAfter int
	slowDelay time.Duration
}

func newProvider(t *testing.T) *provider {
	p := &provider{calls: map[string]int{}, successes: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	var rec struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&rec)
	p.mu.Lock()
	p.calls[rec.ID]++
	n := p.calls[rec.ID]
	status, delay := http.StatusOK, p.delay
	if p.status != nil {
		status = p.status(rec.ID, n)
	}
	p.inflight++
	p.arrivals = append(p.arrivals, p.inflight)
	if p.slowAfter > 0 && len(p.arrivals) > p.slowAfter {
		delay = p.slowDelay
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()
	time.Sleep(delay)
	if status/100 == 2 {
		p.mu.Lock()
		p.successes[rec.ID]++
		p.order = append(p.order, rec.ID)
		p.mu.Unlock()
	}
	w.WriteHeader(status)
}

// healthy makes every call succeed; failing makes every call fail with 503.
func (p *provider) healthy() { p.set(nil) }
func (p *provider) failing() {
	p.set(func(string, int) int { return http.StatusServiceUnavailable })
}

func (p *provider) set(f func(id string, call int) int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = f
}

func (p *provider) callsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

func (p *provider) successesOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.successes[id]
}

func (p *provider) totalCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += c
	}
	return n
}

func (p *provider) successOrder() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.order...)
}

func (p *provider) setDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// slowDownAfter makes every call after the n-th take d.
func (p *provider) slowDownAfter(n int, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slowAfter, p.slowDelay = n, d
}

// inFlightAtArrivals is, for every call in the order they arrived, how many calls the provider was
// serving then, itself included.
func (p *provider) inFlightAtArrivals() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.arrivals...)
}
