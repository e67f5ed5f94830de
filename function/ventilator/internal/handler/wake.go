package handler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/emf"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Wake-up actions.
const (
	// WakeResumed: the mapping was re-enabled at the minimum batch size.
	WakeResumed = "resumed"
	// WakeWaiting: the ventilator is tripped and the circuit does not allow a probe yet.
	WakeWaiting = "waiting"
	// WakeIdle: the ventilator is not tripped; the mapping is left as it is.
	WakeIdle = "idle"
)

// WakeResult is the answer to a scheduled wake-up.
type WakeResult struct {
	Action       string `json:"action"`
	Circuit      string `json:"circuit"`
	CircuitState string `json:"circuitState,omitempty"`
	Mapping      string `json:"mapping"`
	BatchSize    int    `json:"batchSize,omitempty"`
	Reason       string `json:"reason"`
}

// wake is the scheduled wake-up. It fails the invoke (so EventBridge's retries and the Errors metric
// see it) only when it cannot read what it needs or cannot re-enable the mapping.
func (h *Handler) wake(ctx context.Context) (WakeResult, error) {
	res := WakeResult{Circuit: h.cfg.Circuit}
	uuid, err := h.Mapping.UUID(ctx)
	if err != nil {
		return res, fmt.Errorf("wake-up: %w", err)
	}
	res.Mapping = uuid
	log := h.Log.With("mapping", uuid, "wakeUp", true)
	snap, err := h.State.Get(ctx, uuid)
	if err != nil {
		return res, fmt.Errorf("wake-up: %w", err)
	}
	if !snap.State.Tripped {
		res.Action, res.Reason = WakeIdle, "not tripped: the mapping is left as it is"
		log.InfoContext(ctx, "wake-up: nothing to resume", "batchSize", snap.State.BatchSize)
		return res, nil
	}
	view, err := h.Breaker.State(ctx, h.cfg.Circuit)
	switch {
	case errors.Is(err, client.ErrNotFound):
		// No outcome or probe was ever recorded for the circuit: nothing says its downstream is down.
		view, err = client.Circuit{ID: h.cfg.Circuit, State: StateClosed, Allowed: true}, nil
	case err != nil:
		return res, fmt.Errorf("wake-up: read circuit %s: %w", h.cfg.Circuit, err)
	}
	res.CircuitState = view.State
	now := h.Now()
	if ok, why := probeable(view, now); !ok {
		res.Action, res.Reason = WakeWaiting, why
		if _, err := h.Mapping.Apply(ctx, mapping.Want{Enabled: mapping.Disable}, false); err != nil {
			log.WarnContext(ctx, "wake-up: could not make sure the mapping is disabled", "error", err.Error())
		}
		log.InfoContext(ctx, "wake-up: circuit does not allow a probe yet; mapping stays disabled", "reason", why)
		return res, nil
	}
	ch, err := h.State.UpdateFrom(ctx, uuid, snap, func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return h.Controller.Resume(prev, now)
	})
	if err != nil {
		return res, fmt.Errorf("wake-up: resume the controller: %w", err)
	}
	res.BatchSize = ch.Next.BatchSize
	a, err := h.Mapping.Apply(ctx, mapping.Want{BatchSize: ch.Next.BatchSize, Enabled: mapping.Enable}, true)
	if err != nil {
		return res, fmt.Errorf("wake-up: enable the mapping: %w", err)
	}
	res.Action = WakeResumed
	res.Reason = fmt.Sprintf("circuit %s allows a call: mapping enabled at batch size %d", view.State, ch.Next.BatchSize)
	log.InfoContext(ctx, "wake-up: mapping re-enabled", "circuitState", view.State, "batchSize", ch.Next.BatchSize, "mappingChanged", a.Changed)
	if err := h.Metrics.Write(emf.Metrics{Circuit: h.cfg.Circuit, BatchSize: ch.Next.BatchSize,
		Properties: map[string]any{"mapping": uuid, "reason": res.Reason, "wakeUp": true}}); err != nil {
		log.WarnContext(ctx, "metrics not written", "error", err.Error())
	}
	return res, nil
}

// probeable reports whether the circuit lets a call or a probe through now, and if not, why.
func probeable(c client.Circuit, now time.Time) (bool, string) {
	switch {
	case c.Override == ForcedOpen:
		return false, "circuit forced open by an operator"
	case c.Allowed, c.Override == ForcedClosed, c.State == StateClosed, c.State == StateHalfOpen:
		return true, ""
	case c.State == StateOpen && !c.RetryAt.IsZero() && !now.Before(c.RetryAt):
		return true, ""
	case c.State == StateOpen && !c.RetryAt.IsZero():
		return false, "circuit OPEN until " + c.RetryAt.UTC().Format(time.RFC3339)
	}
	return false, fmt.Sprintf("circuit %s does not allow a call", c.State)
}
