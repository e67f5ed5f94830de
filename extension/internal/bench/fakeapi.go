package main

import (
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"
)

// fakeAPI is a minimal Extensions API for one extension process: it records when /register arrives
// and holds /event/next until shutdown is asked for, then sends SHUTDOWN with a deadline; it takes
// a Telemetry API subscription.
type fakeAPI struct {
	srv        *http.Server
	addr       string
	registered chan time.Time
	shutdown   chan struct{}
	once       sync.Once
	initErr    chan string
}

func startFakeAPI() (*fakeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeAPI{addr: ln.Addr().String(), registered: make(chan time.Time, 1), shutdown: make(chan struct{}), initErr: make(chan string, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case f.registered <- time.Now():
		default:
		}
		w.Header().Set("Lambda-Extension-Identifier", "6e1b4c0a-0a3f-4a4e-9a51-3f5b1d8b9c10")
		_, _ = w.Write([]byte(`{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}`))
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-f.shutdown:
			b, _ := json.Marshal(map[string]any{"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": time.Now().Add(2 * time.Second).UnixMilli()})
			_, _ = w.Write(b)
		case <-r.Context().Done():
		}
	})
	// The Telemetry API subscription is taken (and never used: this API sends no INVOKE).
	mux.HandleFunc("PUT /2022-07-01/telemetry", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) })
	mux.HandleFunc("POST /2020-01-01/extension/{kind}/error", func(w http.ResponseWriter, r *http.Request) {
		var doc struct{ ErrorMessage string }
		_ = json.NewDecoder(r.Body).Decode(&doc)
		select {
		case f.initErr <- doc.ErrorMessage:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Shutdown makes the pending /event/next answer SHUTDOWN.
func (f *fakeAPI) Shutdown() { f.once.Do(func() { close(f.shutdown) }) }

// Close stops the server.
func (f *fakeAPI) Close() { f.Shutdown(); _ = f.srv.Close() }
