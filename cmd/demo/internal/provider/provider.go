// Package provider is the demo's third-party API: a loopback HTTP server whose behaviour follows
// the scenario's compressed clock (healthy, degraded, down, recovered), and which keeps its own
// ledger of the calls that succeeded, per record id. That ledger is how the demo measures, rather
// than assumes, that every record was processed exactly once.
//
// POST (or PUT) any path with a JSON body holding a string "id" (or an id query parameter, or an
// Idempotency-Key header) is a call; GET /health is the health check the checker probes.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/scenario"
)

// Config configures a Provider.
type Config struct {
	// Clock tells the phase of each call.
	Clock *scenario.Clock
	// Latency is the time a normal call takes (±50 % jitter); default 20ms.
	Latency time.Duration
	// SlowDelay is the time a slow call takes; default 1.5s.
	SlowDelay time.Duration
	// Seed seeds the failure draws, so a run can be repeated.
	Seed uint64
	// Logger receives one debug line per call; default: discarded.
	Logger *slog.Logger
}

// Stats are the provider's cumulative counters.
type Stats struct {
	// Calls counts calls (health checks not included); Errors those answered with a failure; Slow
	// those delayed by the slow delay; Succeeded those answered 200.
	Calls, Errors, Slow, Succeeded int64
	// Abandoned counts calls whose caller went away before the answer: they did not succeed.
	Abandoned int64
	// HealthChecks counts health checks; HealthFailures those answered 503.
	HealthChecks, HealthFailures int64
	// Records is the number of distinct record ids that succeeded at least once; Duplicates the
	// number that succeeded more than once.
	Records, Duplicates int64
}

// Provider is a running provider.
type Provider struct {
	cfg Config
	srv *http.Server
	ln  net.Listener
	url string

	mu        sync.Mutex
	rnd       *rand.Rand
	stats     Stats
	successes map[string]int
}

// Start listens on a free loopback port and serves until Close.
func Start(cfg Config) (*Provider, error) {
	if cfg.Clock == nil {
		return nil, errors.New("provider: a Clock is required")
	}
	if cfg.Latency <= 0 {
		cfg.Latency = 20 * time.Millisecond
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 1500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("provider: listen: %w", err)
	}
	p := &Provider{
		cfg: cfg, ln: ln, url: "http://" + ln.Addr().String(),
		rnd:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		successes: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", p.health)
	mux.HandleFunc("/", p.call)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the provider's base URL, e.g. http://127.0.0.1:41234.
func (p *Provider) URL() string { return p.url }

// HealthURL is the URL the checker probes.
func (p *Provider) HealthURL() string { return p.url + "/health" }

// CallURL is the URL the worker calls.
func (p *Provider) CallURL() string { return p.url + "/v1/charges" }

// Close stops the server, waiting at most until ctx ends for calls in flight.
func (p *Provider) Close(ctx context.Context) error {
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
		return fmt.Errorf("provider: shut down: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (p *Provider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Successes returns, for every record id that succeeded, how many times it did.
func (p *Provider) Successes() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.successes))
	for id, n := range p.successes {
		out[id] = n
	}
	return out
}

// verdict is what a call gets.
type verdict int

const (
	ok verdict = iota
	slow
	fail
)

// draw decides a call's fate in the current phase and how long it takes.
func (p *Provider) draw(ph scenario.Phase) (verdict, time.Duration) {
	p.mu.Lock()
	u, jitter := p.rnd.Float64(), p.rnd.Float64()
	p.mu.Unlock()
	base := time.Duration(float64(p.cfg.Latency) * (0.5 + jitter))
	switch {
	case u < ph.ErrorRate:
		return fail, base
	case u < ph.ErrorRate+ph.SlowRate:
		return slow, p.cfg.SlowDelay
	default:
		return ok, base
	}
}

func (p *Provider) health(w http.ResponseWriter, r *http.Request) {
	_, ph := p.cfg.Clock.Current()
	p.mu.Lock()
	p.stats.HealthChecks++
	if !ph.Healthy {
		p.stats.HealthFailures++
	}
	p.mu.Unlock()
	if !ph.Healthy {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down", "phase": ph.Name})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "phase": ph.Name})
}

// maxBody bounds a call's body.
const maxBody = 64 << 10

func (p *Provider) call(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unreadable body"})
		return
	}
	id := recordID(r, body)
	if id == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want a JSON body with a string "id"`})
		return
	}
	_, ph := p.cfg.Clock.Current()
	v, delay := p.draw(ph)
	p.mu.Lock()
	p.stats.Calls++
	if v == slow {
		p.stats.Slow++
	}
	p.mu.Unlock()

	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		p.mu.Lock()
		p.stats.Abandoned++
		p.mu.Unlock()
		p.cfg.Logger.Debug("provider call abandoned by its caller", "id", id, "phase", ph.Name)
		return
	case <-t.C:
	}
	if v == fail {
		p.mu.Lock()
		p.stats.Errors++
		p.mu.Unlock()
		status := http.StatusInternalServerError
		if !ph.Healthy {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]string{"error": "provider " + ph.Name, "id": id})
		return
	}
	// The charge is made here: once it is counted, a second success for this id is a duplicate.
	p.mu.Lock()
	p.stats.Succeeded++
	p.successes[id]++
	switch p.successes[id] {
	case 1:
		p.stats.Records++
	case 2:
		p.stats.Duplicates++
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "charged", "phase": ph.Name})
}

// recordID finds the call's record id: the body's "id", the id query parameter, or the
// Idempotency-Key header.
func recordID(r *http.Request, body []byte) string {
	var doc struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(body, &doc) == nil {
		if s, ok := doc.ID.(string); ok && s != "" {
			return s
		}
	}
	if id := r.URL.Query().Get("id"); id != "" {
		return id
	}
	return r.Header.Get("Idempotency-Key")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
