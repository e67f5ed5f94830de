package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(env(nil))
	if err != nil || c.SlowDelay != 2*time.Second || c.BaseDelay != 20*time.Millisecond || c.ProviderTimeout != 10*time.Second || c.ProviderURL != "" {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
	c, err = LoadConfig(env(map[string]string{"SLOW_RATIO": "0.25", "ERROR_RATIO": "1", "SLOW_DELAY": "1500ms", "BASE_DELAY": "0s",
		"PROVIDER_URL": "https://api.example.com/v1", "PROVIDER_TIMEOUT": "3s"}))
	if err != nil || c.SlowRatio != 0.25 || c.ErrorRatio != 1 || c.SlowDelay != 1500*time.Millisecond || c.BaseDelay != 0 ||
		c.ProviderURL != "https://api.example.com/v1" || c.ProviderTimeout != 3*time.Second {
		t.Fatalf("config = %+v, %v", c, err)
	}
	for name, value := range map[string]string{
		"SLOW_RATIO": "1.5", "ERROR_RATIO": "x", "SLOW_DELAY": "2", "BASE_DELAY": "-1s", "PROVIDER_URL": "ftp://x", "PROVIDER_TIMEOUT": "0s",
	} {
		_, err := LoadConfig(env(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s=%s: error %v, want one naming the variable", name, value, err)
		}
	}
}

func TestSimulation(t *testing.T) {
	cfg := Config{SlowRatio: 0.5, ErrorRatio: 0.5, SlowDelay: 2 * time.Second, BaseDelay: 20 * time.Millisecond, ProviderTimeout: time.Second}
	w := New(cfg, nil, nil)
	var draws []float64
	w.draw = func() float64 { d := draws[0]; draws = draws[1:]; return d }
	var waited []time.Duration
	w.wait = func(ctx context.Context, d time.Duration) error { waited = append(waited, d); return ctx.Err() }

	draws = []float64{0.9, 0.9} // fast, no error
	res, err := w.Handle(context.Background(), []byte(`{"id":"r1"}`))
	if err != nil || res.ID != "r1" || res.Status != "ok" {
		t.Fatalf("fast call = %+v, %v", res, err)
	}
	draws = []float64{0.1, 0.9} // slow, no error
	if _, err := w.Handle(context.Background(), []byte(`{"id":"r2"}`)); err != nil {
		t.Fatalf("slow call = %v", err)
	}
	draws = []float64{0.9, 0.1} // fast, error
	if _, err := w.Handle(context.Background(), []byte(`{"id":"r3"}`)); !errors.Is(err, ErrProvider) {
		t.Fatalf("failing call = %v", err)
	}
	if want := []time.Duration{20 * time.Millisecond, 2 * time.Second, 20 * time.Millisecond}; !slices.Equal(waited, want) {
		t.Fatalf("waited %v, want %v", waited, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	draws = []float64{0.1, 0.9}
	if _, err := w.Handle(ctx, []byte(`{"id":"r4"}`)); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrProvider) {
		t.Fatalf("cancelled call = %v", err)
	}
	for _, bad := range []string{`[]`, `{"id":5}`, `{}`, `x`} {
		if _, err := w.Handle(context.Background(), []byte(bad)); err == nil {
			t.Errorf("record %s accepted", bad)
		}
	}
}

func TestProviderCall(t *testing.T) {
	status := http.StatusOK
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		body = string(b[:n])
		if status == 0 {
			time.Sleep(200 * time.Millisecond)
		}
		w.WriteHeader(max(status, 200))
	}))
	defer srv.Close()
	w := New(Config{ProviderURL: srv.URL, ProviderTimeout: 100 * time.Millisecond}, nil, nil)
	res, err := w.Handle(context.Background(), []byte(`{"id":"r1","sku":"A"}`))
	if err != nil || res.ProviderStatus != 200 || body != `{"id":"r1","sku":"A"}` {
		t.Fatalf("call = %+v, %v, body %q", res, err, body)
	}
	status = http.StatusServiceUnavailable
	if _, err := w.Handle(context.Background(), []byte(`{"id":"r2"}`)); !errors.Is(err, ErrProvider) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503 = %v", err)
	}
	status = 0
	if _, err := w.Handle(context.Background(), []byte(`{"id":"r3"}`)); !errors.Is(err, ErrProvider) {
		t.Fatalf("slow provider = %v, want a timeout", err)
	}
}

// On Lambda Managed Instances one Worker serves many invokes at once: concurrent Handle calls,
// simulated and real, each answer their own record, race-free.
func TestConcurrentInvokes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, w := range []*Worker{
		New(Config{ErrorRatio: 0, BaseDelay: time.Millisecond, ProviderTimeout: time.Second}, nil, nil),
		New(Config{ProviderURL: srv.URL, ProviderTimeout: 10 * time.Second}, nil, nil),
	} {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				id := fmt.Sprint("r", i)
				res, err := w.Handle(context.Background(), []byte(`{"id":"`+id+`"}`))
				if err != nil || res.ID != id {
					t.Errorf("record %s: %+v, %v", id, res, err)
				}
			})
		}
		wg.Wait()
	}
}
