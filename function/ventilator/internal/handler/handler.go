package handler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Deps are the Handler's collaborators, built in main from the SDK's standard configuration.
type Deps struct {
	Breaker    Breaker
	Dedup      Dedup
	State      StateStore
	Mapping    Mapping
	Worker     Worker
	DLQ        DeadLetters
	Metrics    Metrics
	Controller adaptive.Controller
	// Shards counts a Kinesis mapping's pollers; nil counts one.
	Shards Shards
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler handles the ventilator's invokes.
type Handler struct {
	Deps
	cfg config.Config
}

// New returns a Handler; every field of deps but Shards, Log and Now is required.
func New(cfg config.Config, deps Deps) (*Handler, error) {
	if deps.Breaker == nil || deps.Dedup == nil || deps.State == nil || deps.Mapping == nil || deps.Worker == nil ||
		deps.DLQ == nil || deps.Metrics == nil || deps.Controller == nil {
		return nil, errors.New("handler: every dependency is required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Handler{Deps: deps, cfg: cfg}, nil
}

// Response is a batch's answer: the records to retry (ReportBatchItemFailures).
type Response struct {
	BatchItemFailures []ItemFailure `json:"batchItemFailures"`
}

// ItemFailure names one record to retry: a Kinesis sequence number or an SQS message id.
type ItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}

// Invoke handles one event: a Kinesis or SQS batch (answered with a [Response]), or a wake-up, the
// scheduled one or the circuit's Circuit State Change event (answered with a [WakeResult]). Only an event it cannot read fails the invoke; problems
// with single records become batch item failures or dead letters.
func (h *Handler) Invoke(ctx context.Context, event json.RawMessage) (any, error) {
	recs, wake, err := parseEvent(event)
	if err != nil {
		h.Log.ErrorContext(ctx, "unreadable event", "error", err.Error())
		return nil, err
	}
	if wake != nil {
		return h.wake(ctx, *wake)
	}
	return h.batch(ctx, recs), nil
}
