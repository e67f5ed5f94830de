package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsRequestsAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "t" {
			w.WriteHeader(http.StatusUnauthorized)
		}
		n.Add(1)
		w.Header().Set("Content-Length", "2")
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	res, err := Run(context.Background(), Config{Addr: addr, Path: "/x", Header: map[string]string{"X-Token": "t"}, Conns: 2, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || res.RPS() <= 0 || res.Percentile(0.99) < res.Percentile(0.5) {
		t.Errorf("result: %d requests, %d errors, %v rps", res.Requests, res.Errors, res.RPS())
	}
	if res.Requests > n.Load() {
		t.Errorf("measured %d requests, server saw %d", res.Requests, n.Load())
	}
	bad, err := Run(context.Background(), Config{Addr: addr, Path: "/x", Conns: 1, Duration: 100 * time.Millisecond})
	if err != nil || bad.Errors == 0 {
		t.Errorf("401s not counted as errors: %+v %v", bad.Errors, err)
	}
}

func TestRunPacesToTheRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "0")
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{Addr: strings.TrimPrefix(srv.URL, "http://"), Path: "/", Conns: 2, Duration: time.Second, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 100 || res.Requests > 260 {
		t.Errorf("%d requests in 1s at 200/s", res.Requests)
	}
}
