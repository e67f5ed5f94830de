package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// The Telemetry API (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html and its
// reference, https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html): an
// extension subscribes with PUT /2022-07-01/telemetry, and Lambda POSTs batches of events (JSON
// arrays) to the extension's listener. The emulator produces one platform event,
// platform.runtimeDone (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html#platform-runtimeDone),
// when the runtime answers an invocation or the invocation times out; it produces no function or
// extension log events. Only the HTTP protocol is served.

// TelemetryHost is the host name a Telemetry API destination must use. Lambda resolves it to the
// sandbox; the emulator delivers to 127.0.0.1 on the destination's port.
const TelemetryHost = "sandbox.localdomain"

// Telemetry API limits, from the reference page.
const (
	telemetryMinItems, telemetryMaxItems, telemetryDefaultItems = 1000, 10000, 1000
	telemetryMinBytes, telemetryMaxBytes, telemetryDefaultBytes = 262144, 1048576, 262144
	telemetryMinTimeoutMs, telemetryMaxTimeoutMs                = 25, 30000
	telemetryDefaultTimeoutMs                                   = 1000
	errTelemetryValidation                                      = "ValidationError"
	// telemetryPostTimeout bounds one delivery to a listener; a failed batch is logged and dropped.
	telemetryPostTimeout = 5 * time.Second
)

// telemetrySchemas are the accepted schemaVersion values; Lambda Managed Instances require the last.
var telemetrySchemas = []string{"2022-07-01", "2022-12-13", "2025-01-29"}

// TelemetrySubscription is the body of PUT /2022-07-01/telemetry.
type TelemetrySubscription struct {
	SchemaVersion string               `json:"schemaVersion"`
	Destination   TelemetryDestination `json:"destination"`
	Types         []string             `json:"types"`
	Buffering     *TelemetryBuffering  `json:"buffering,omitempty"`
}

// TelemetryDestination is where Lambda sends the events.
type TelemetryDestination struct {
	Protocol string `json:"protocol"` // "HTTP" (the emulator does not serve "TCP")
	URI      string `json:"URI"`      // http://sandbox.localdomain:PORT[/path]
}

// TelemetryBuffering bounds how long and how much Lambda buffers before a delivery.
type TelemetryBuffering struct {
	MaxItems  int `json:"maxItems,omitempty"`
	MaxBytes  int `json:"maxBytes,omitempty"`
	TimeoutMs int `json:"timeoutMs,omitempty"`
}

// TelemetryEvent is one event of a delivered batch.
type TelemetryEvent struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// RuntimeDoneRecord is the record of a platform.runtimeDone event.
type RuntimeDoneRecord struct {
	RequestID string             `json:"requestId"`
	Status    string             `json:"status"` // success, error or timeout
	Metrics   RuntimeDoneMetrics `json:"metrics"`
}

// RuntimeDoneMetrics are a runtimeDone's metrics.
type RuntimeDoneMetrics struct {
	DurationMs    float64 `json:"durationMs"`
	ProducedBytes int     `json:"producedBytes"`
}

// subscriber is one extension's subscription and its delivery queue.
type subscriber struct {
	ext       string // extension name, for logs
	url       string // where to POST, with TelemetryHost replaced by 127.0.0.1
	platform  bool   // subscribed to "platform" events
	maxItems  int
	maxBytes  int
	timeout   time.Duration
	mu        sync.Mutex
	queue     []json.RawMessage
	queued    int           // bytes in queue
	wake      chan struct{} // capacity 1: something was queued
	stopOnce  sync.Once
	stop      chan struct{} // closed when the subscription is replaced
	client    *http.Client
	deliverer sync.WaitGroup
}

// telemetrySubscribe serves PUT /2022-07-01/telemetry: a registered extension subscribes (again,
// replacing its earlier subscription) to the platform, function and extension streams.
func (s *sandbox) telemetrySubscribe(w http.ResponseWriter, r *http.Request) {
	if s.fn.cfg.TelemetryAcceptOnly {
		s.telemetryAcceptOnly(w, r)
		return
	}
	body, err := readBody(r.Body, maxAPIBodySize)
	if errors.Is(err, errBodyTooLarge) {
		writeAPIError(w, http.StatusRequestEntityTooLarge, errEntityTooLarge, "subscription body exceeds %d bytes", maxAPIBodySize)
		return
	}
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, errRequestFormat, "%v", err)
		return
	}
	sub, verr := s.parseSubscription(body)
	if verr != nil {
		writeAPIError(w, http.StatusBadRequest, errTelemetryValidation, "%v", verr)
		return
	}
	s.mu.Lock()
	g, ext, aerr := s.extensionLocked(r)
	if aerr == nil && g.phase == phaseShutdown {
		aerr = forbidden(errExtInvalidState, "the sandbox is shutting down: no new telemetry subscription")
	}
	if aerr != nil {
		s.mu.Unlock()
		aerr.write(w)
		return
	}
	sub.ext = ext.name
	if old := g.subs[ext.id]; old != nil {
		old.stopOnce.Do(func() { close(old.stop) })
	}
	g.subs[ext.id] = sub
	sub.deliverer.Add(1)
	go s.deliver(g, sub)
	s.mu.Unlock()
	s.log.Info("telemetry subscription", "extension", ext.name, "destination", sub.url, "platform", sub.platform, "timeoutMs", sub.timeout.Milliseconds())
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("OK"))
}

// parseSubscription validates a subscription body as the reference page describes it.
func (s *sandbox) parseSubscription(body []byte) (*subscriber, error) {
	var req TelemetrySubscription
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf(`invalid subscription body (want {"schemaVersion","destination":{"protocol":"HTTP","URI"},"types":[...],"buffering"?}): %w`, err)
	}
	if !slices.Contains(telemetrySchemas, req.SchemaVersion) {
		return nil, fmt.Errorf("schemaVersion %q: want one of %v", req.SchemaVersion, telemetrySchemas)
	}
	if s.fn.cfg.managed() && req.SchemaVersion != telemetrySchemas[len(telemetrySchemas)-1] {
		return nil, fmt.Errorf("schemaVersion %q: Lambda Managed Instances require %q", req.SchemaVersion, telemetrySchemas[len(telemetrySchemas)-1])
	}
	if req.Destination.Protocol != "HTTP" {
		return nil, fmt.Errorf("destination.protocol %q: the emulator serves HTTP only", req.Destination.Protocol)
	}
	u, err := url.Parse(req.Destination.URI)
	if err != nil || u.Scheme != "http" || u.Hostname() != TelemetryHost || u.Port() == "" {
		return nil, fmt.Errorf("destination.URI %q: want http://%s:PORT[/path]", req.Destination.URI, TelemetryHost)
	}
	sub := &subscriber{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	if len(req.Types) == 0 {
		return nil, errors.New(`types: want at least one of "platform", "function", "extension"`)
	}
	for _, t := range req.Types {
		switch t {
		case "platform":
			sub.platform = true
		case "function", "extension":
		default:
			return nil, fmt.Errorf(`types: %q: want "platform", "function" or "extension"`, t)
		}
	}
	b := TelemetryBuffering{MaxItems: telemetryDefaultItems, MaxBytes: telemetryDefaultBytes, TimeoutMs: telemetryDefaultTimeoutMs}
	if req.Buffering != nil {
		if req.Buffering.MaxItems != 0 {
			b.MaxItems = req.Buffering.MaxItems
		}
		if req.Buffering.MaxBytes != 0 {
			b.MaxBytes = req.Buffering.MaxBytes
		}
		if req.Buffering.TimeoutMs != 0 {
			b.TimeoutMs = req.Buffering.TimeoutMs
		}
	}
	switch {
	case b.MaxItems < telemetryMinItems || b.MaxItems > telemetryMaxItems:
		return nil, fmt.Errorf("buffering.maxItems %d: want %d to %d", b.MaxItems, telemetryMinItems, telemetryMaxItems)
	case b.MaxBytes < telemetryMinBytes || b.MaxBytes > telemetryMaxBytes:
		return nil, fmt.Errorf("buffering.maxBytes %d: want %d to %d", b.MaxBytes, telemetryMinBytes, telemetryMaxBytes)
	case b.TimeoutMs < telemetryMinTimeoutMs || b.TimeoutMs > telemetryMaxTimeoutMs:
		return nil, fmt.Errorf("buffering.timeoutMs %d: want %d to %d", b.TimeoutMs, telemetryMinTimeoutMs, telemetryMaxTimeoutMs)
	}
	sub.maxItems, sub.maxBytes, sub.timeout = b.MaxItems, b.MaxBytes, time.Duration(b.TimeoutMs)*time.Millisecond
	u.Host = net.JoinHostPort("127.0.0.1", u.Port())
	sub.url = u.String()
	sub.client = &http.Client{
		Timeout: telemetryPostTimeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
			MaxIdleConnsPerHost: 1,
		},
	}
	return sub, nil
}

// runtimeDoneLocked queues a platform.runtimeDone event for inv to every platform subscriber of g.
// s.mu must be held.
func (s *sandbox) runtimeDoneLocked(g *generation, inv *invocation, status string) {
	if len(g.subs) == 0 {
		return
	}
	now := time.Now()
	var ms float64
	if !inv.pickedUp.IsZero() {
		ms = float64(now.Sub(inv.pickedUp).Microseconds()) / 1000
	}
	rec, _ := json.Marshal(RuntimeDoneRecord{RequestID: inv.id, Status: status, Metrics: RuntimeDoneMetrics{DurationMs: ms, ProducedBytes: len(inv.result.Payload)}})
	ev, _ := json.Marshal(TelemetryEvent{Time: now.UTC().Format("2006-01-02T15:04:05.000Z"), Type: "platform.runtimeDone", Record: rec})
	for _, sub := range g.subs {
		if sub.platform {
			sub.add(ev)
		}
	}
}

// add queues one event and wakes the deliverer.
func (sub *subscriber) add(ev json.RawMessage) {
	sub.mu.Lock()
	sub.queue = append(sub.queue, ev)
	sub.queued += len(ev)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (sub *subscriber) take() ([]json.RawMessage, int) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	q, n := sub.queue, sub.queued
	sub.queue, sub.queued = nil, 0
	return q, n
}

// full reports whether the queue has reached a buffering limit.
func (sub *subscriber) full() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return len(sub.queue) >= sub.maxItems || sub.queued >= sub.maxBytes
}

// deliver POSTs the subscriber's events, as Lambda does, once its buffering timeout has passed since
// the first event of a batch, or sooner when the batch reaches maxItems or maxBytes. It stops when
// the generation ends or the subscription is replaced.
func (s *sandbox) deliver(g *generation, sub *subscriber) {
	defer sub.deliverer.Done()
	for {
		select {
		case <-g.ended:
			return
		case <-sub.stop:
			return
		case <-sub.wake:
		}
		timer := time.NewTimer(sub.timeout)
	wait:
		for !sub.full() {
			select {
			case <-g.ended:
				timer.Stop()
				return
			case <-sub.stop:
				timer.Stop()
				return
			case <-sub.wake:
			case <-timer.C:
				break wait
			}
		}
		timer.Stop()
		batch, _ := sub.take()
		if len(batch) == 0 {
			continue
		}
		s.post(g, sub, batch)
	}
}

// post sends one batch; a failure is logged and the batch dropped.
func (s *sandbox) post(g *generation, sub *subscriber, batch []json.RawMessage) {
	body, _ := json.Marshal(batch)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-g.ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.url, bytes.NewReader(body))
	if err != nil {
		s.log.Warn("telemetry batch not delivered", "extension", sub.ext, "error", err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sub.client.Do(req)
	if err != nil {
		s.log.Warn("telemetry batch not delivered", "extension", sub.ext, "events", len(batch), "error", err.Error())
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.log.Warn("telemetry listener refused a batch", "extension", sub.ext, "events", len(batch), "status", resp.StatusCode)
	}
}
