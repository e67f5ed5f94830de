package telemetryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Host is the host name Lambda delivers telemetry to: it names the sandbox itself.
const Host = "sandbox.localdomain"

// maxBatch bounds a delivered batch (the API's largest maxBytes is 1 MiB).
const maxBatch = 2 << 20

// keepDone is how many runtimeDone records nobody waited for yet are kept (a record may arrive
// before the INVOKE event that announces its invocation has been read).
const keepDone = 256

// RuntimeDone is what platform.runtimeDone says about an invocation.
type RuntimeDone struct {
	RequestID string `json:"requestId"`
	// Status is success, error, failure or timeout.
	Status string `json:"status"`
}

// event is one event of a batch. Records of other event types are not decoded: the schema grows
// over time, and this listener needs only runtimeDone's request id and status.
type event struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// Listener receives Telemetry API batches over HTTP and hands each runtimeDone to its waiter.
type Listener struct {
	ln  net.Listener
	srv *http.Server
	log *slog.Logger

	mu      sync.Mutex
	done    map[string]RuntimeDone // arrived, not waited for yet
	order   []string               // done's keys, oldest first
	waiters map[string]chan RuntimeDone
	events  int64
}

// Listen binds the listener on Host (on 127.0.0.1 where that name does not resolve, as outside
// Lambda) on a free port, and serves it until Close.
func Listen(ctx context.Context, log *slog.Logger) (*Listener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host := "127.0.0.1"
	lctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	addrs, err := net.DefaultResolver.LookupHost(lctx, Host)
	cancel()
	if err == nil && len(addrs) > 0 {
		host = addrs[0]
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("telemetryapi: listen on %s: %w", host, err)
	}
	l := &Listener{ln: ln, log: log, done: map[string]RuntimeDone{}, waiters: map[string]chan RuntimeDone{}}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// URI is the destination to subscribe with: http://sandbox.localdomain:PORT.
func (l *Listener) URI() string {
	return "http://" + net.JoinHostPort(Host, strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port))
}

// Close stops the listener.
func (l *Listener) Close() error { return l.srv.Close() }

// ServeHTTP takes one batch: a JSON array of events.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "telemetry listener: POST a JSON array of events", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatch+1))
	if err != nil {
		http.Error(w, "telemetry listener: read batch: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxBatch {
		http.Error(w, fmt.Sprintf("telemetry listener: batch over %d bytes", maxBatch), http.StatusRequestEntityTooLarge)
		return
	}
	var batch []event
	if err := json.Unmarshal(body, &batch); err != nil {
		l.log.Warn("telemetry batch refused", "error", err.Error())
		http.Error(w, "telemetry listener: want a JSON array of events: "+err.Error(), http.StatusBadRequest)
		return
	}
	var done []RuntimeDone
	for _, ev := range batch {
		if ev.Type != "platform.runtimeDone" {
			continue
		}
		var rd RuntimeDone
		if err := json.Unmarshal(ev.Record, &rd); err != nil || rd.RequestID == "" {
			l.log.Warn("platform.runtimeDone without a request id ignored", "record", string(ev.Record))
			continue
		}
		done = append(done, rd)
	}
	// Answer Lambda before waking the waiter: once woken, the extension may let the environment
	// freeze, and an unanswered delivery would hang until the next thaw.
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	for _, rd := range done {
		l.arrived(rd)
	}
}

// arrived hands rd to its waiter, or keeps it for one.
func (l *Listener) arrived(rd RuntimeDone) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events++
	if ch, ok := l.waiters[rd.RequestID]; ok {
		delete(l.waiters, rd.RequestID)
		ch <- rd
		return
	}
	if _, dup := l.done[rd.RequestID]; dup {
		return
	}
	l.done[rd.RequestID] = rd
	l.order = append(l.order, rd.RequestID)
	for len(l.order) > keepDone {
		delete(l.done, l.order[0])
		l.order = l.order[1:]
	}
}

// ErrNoRuntimeDone is returned by WaitRuntimeDone when ctx ends first.
var ErrNoRuntimeDone = errors.New("telemetryapi: no platform.runtimeDone for the invocation")

// WaitRuntimeDone waits for the runtimeDone of requestID (which may have arrived already) until ctx
// ends.
func (l *Listener) WaitRuntimeDone(ctx context.Context, requestID string) (RuntimeDone, error) {
	l.mu.Lock()
	if rd, ok := l.done[requestID]; ok {
		delete(l.done, requestID)
		for i, id := range l.order {
			if id == requestID {
				l.order = append(l.order[:i:i], l.order[i+1:]...)
				break
			}
		}
		l.mu.Unlock()
		return rd, nil
	}
	ch := make(chan RuntimeDone, 1)
	l.waiters[requestID] = ch
	l.mu.Unlock()
	select {
	case rd := <-ch:
		return rd, nil
	case <-ctx.Done():
		l.mu.Lock()
		delete(l.waiters, requestID)
		l.mu.Unlock()
		select {
		case rd := <-ch: // arrived meanwhile
			return rd, nil
		default:
		}
		return RuntimeDone{}, fmt.Errorf("%w %s: %w", ErrNoRuntimeDone, requestID, ctx.Err())
	}
}
