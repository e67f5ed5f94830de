package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

type oneReader struct{}

func (oneReader) Get(context.Context, string) (circuit.Circuit, error) {
	return circuit.Circuit{ID: "inventory", State: circuit.Closed, Version: 3, Since: time.Now(), Reason: "2 successful probes"}, nil
}

// discard is a minimal ResponseWriter, so the benchmark measures the handler, not the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkCacheHitGet is the hot path: a token check, routing, a cache hit and the view's JSON.
func BenchmarkCacheHitGet(b *testing.B) {
	c, err := cache.New(oneReader{}, cache.Options{TTL: time.Hour, StaleTTL: time.Hour, Size: 16})
	if err != nil {
		b.Fatal(err)
	}
	br, err := breaker.New(nil, c, breaker.Options{Policy: circuit.DefaultPolicy(), Shards: 4})
	if err != nil {
		b.Fatal(err)
	}
	h := Handler(br, Options{Token: token})
	req := httptest.NewRequest("GET", "/v1/circuits/inventory", nil)
	req.Header.Set(TokenHeader, token)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkCacheHitAcquire is the other hot path: POST acquire on a CLOSED circuit served from cache.
func BenchmarkCacheHitAcquire(b *testing.B) {
	c, err := cache.New(oneReader{}, cache.Options{TTL: time.Hour, StaleTTL: time.Hour, Size: 16})
	if err != nil {
		b.Fatal(err)
	}
	br, err := breaker.New(nil, c, breaker.Options{Policy: circuit.DefaultPolicy(), Shards: 4})
	if err != nil {
		b.Fatal(err)
	}
	h := Handler(br, Options{Token: token})
	req := httptest.NewRequest("POST", "/v1/circuits/inventory/acquire", nil)
	req.Header.Set(TokenHeader, token)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkDecodeReport is the outcomes body of every call: a well-formed report of two outcomes.
func BenchmarkDecodeReport(b *testing.B) {
	body := []byte(`{"outcomes":[{"ok":true,"latencyMs":12.5},{"ok":false,"latencyMs":30,"error":"HTTP 503"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeOutcomes(body); err != nil {
			b.Fatal(err)
		}
	}
}
