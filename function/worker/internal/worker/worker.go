package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/breakerbox/breakerbox/internal/ctxwait"
)

// Worker handles one record per invoke.
type Worker struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
	// draw returns a uniform number in [0, 1); tests pin it.
	draw func() float64
	// wait sleeps for d unless ctx ends first; tests record the delays instead.
	wait func(ctx context.Context, d time.Duration) error
}

// New returns a Worker; hc nil means a client without proxy whose calls are bounded by
// ProviderTimeout, log nil discards logs.
func New(cfg Config, hc *http.Client, log *slog.Logger) *Worker {
	if hc == nil {
		hc = &http.Client{Timeout: cfg.ProviderTimeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, http: hc, log: log, draw: rand.Float64, wait: ctxwait.Sleep}
}

// Result is the worker's answer for a record.
type Result struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	LatencyMs float64 `json:"latencyMs"`
	// ProviderStatus is the HTTP status of a real call.
	ProviderStatus int `json:"providerStatus,omitempty"`
}

// ErrProvider is wrapped by the error of a failed provider call, simulated or real.
var ErrProvider = errors.New("provider call failed")

// Handle processes one record: a JSON object with a string id. A failed provider call is returned
// as an error, which makes the invoke a function error the ventilator counts as a failure.
func (w *Worker) Handle(ctx context.Context, rec json.RawMessage) (Result, error) {
	var in struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec, &in); err != nil || in.ID == "" {
		return Result{}, fmt.Errorf("worker: want a JSON object with a string id, got %.80s", rec)
	}
	start := time.Now()
	res := Result{ID: in.ID, Status: "ok"}
	var err error
	if w.cfg.ProviderURL != "" {
		res.ProviderStatus, err = w.call(ctx, rec)
	} else {
		err = w.simulate(ctx)
	}
	res.LatencyMs = float64(time.Since(start)) / float64(time.Millisecond)
	if err != nil {
		w.log.WarnContext(ctx, "provider call failed", "id", in.ID, "latencyMs", res.LatencyMs, "error", err.Error())
		return Result{}, err
	}
	w.log.DebugContext(ctx, "provider call done", "id", in.ID, "latencyMs", res.LatencyMs)
	return res, nil
}

// simulate waits like a provider would and fails ERROR_RATIO of the time.
func (w *Worker) simulate(ctx context.Context) error {
	delay := w.cfg.BaseDelay
	if w.draw() < w.cfg.SlowRatio {
		delay = w.cfg.SlowDelay
	}
	if err := w.wait(ctx, delay); err != nil {
		return fmt.Errorf("worker: %w: %w", ErrProvider, err)
	}
	if w.draw() < w.cfg.ErrorRatio {
		return fmt.Errorf("worker: %w: simulated error (ERROR_RATIO %v)", ErrProvider, w.cfg.ErrorRatio)
	}
	return nil
}

// call POSTs the record to PROVIDER_URL; a 2xx answer is a success.
func (w *Worker) call(ctx context.Context, rec json.RawMessage) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.ProviderTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.ProviderURL, bytes.NewReader(rec))
	if err != nil {
		return 0, fmt.Errorf("worker: provider request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("worker: %w: %w", ErrProvider, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("worker: %w: provider answered %d", ErrProvider, resp.StatusCode)
	}
	return resp.StatusCode, nil
}
