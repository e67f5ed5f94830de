package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
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
	// WakeIdle: the ventilator is not tripped, or the event is not about its circuit's recovery; the
	// mapping is left as it is.
	WakeIdle = "idle"
)

// WakeResult is the answer to a wake-up.
type WakeResult struct {
	Action string `json:"action"`
	// Trigger is what woke the ventilator: TriggerSchedule, TriggerEvent or TriggerSelf.
	Trigger      string `json:"trigger"`
	Circuit      string `json:"circuit"`
	CircuitState string `json:"circuitState,omitempty"`
	Mapping      string `json:"mapping"`
	BatchSize    int    `json:"batchSize,omitempty"`
	Concurrency  int    `json:"concurrency,omitempty"`
	Reason       string `json:"reason"`
	// WakeAt, when the ventilator waits for its own trip's moment, is that moment.
	WakeAt time.Time `json:"wakeAt,omitzero"`
}

// wake is the wake-up. It fails the invoke (so that the asynchronous invoke's retries and the Errors
// metric see it) only when it cannot read what it needs or cannot re-enable the mapping; the
// "tripped" mark (the state's Tripped, then the Resuming mark) stays until the mapping is really
// enabled, so the next wake-up tries again.
func (h *Handler) wake(ctx context.Context, w wakeUp) (WakeResult, error) {
	res := WakeResult{Circuit: h.cfg.Circuit, Trigger: w.trigger}
	if w.trigger == TriggerEvent {
		switch {
		case w.change.ID != h.cfg.Circuit:
			res.Action, res.Reason = WakeIdle, fmt.Sprintf("state change of circuit %s, not %s", w.change.ID, h.cfg.Circuit)
			h.Log.WarnContext(ctx, "wake-up: event for another circuit ignored: check the rule's event pattern", "eventCircuit", w.change.ID)
			return res, nil
		case w.change.To != StateHalfOpen && w.change.To != StateClosed:
			res.Action, res.Reason = WakeIdle, fmt.Sprintf("circuit %s went to %s: nothing to resume", w.change.ID, w.change.To)
			return res, nil
		}
	}
	uuid, err := h.Mapping.UUID(ctx)
	if err != nil {
		return res, fmt.Errorf("wake-up: %w", err)
	}
	res.Mapping = uuid
	log := h.Log.With("mapping", uuid, "wakeUp", true, "trigger", w.trigger)
	if w.trigger == TriggerEvent {
		log = log.With("eventFrom", w.change.From, "eventTo", w.change.To, "eventVersion", w.change.Version)
	}
	snap, err := h.State.Get(ctx, uuid)
	if err != nil {
		return res, fmt.Errorf("wake-up: %w", err)
	}
	if !snap.State.Tripped && !snap.Marks.Resuming {
		res.Action, res.Reason = WakeIdle, "not tripped: the mapping is left as it is"
		level := slog.LevelInfo
		if w.trigger == TriggerSelf {
			level = slog.LevelDebug // every minute, and nearly always this
		}
		log.Log(ctx, level, "wake-up: nothing to resume", "batchSize", snap.State.BatchSize)
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
	if w.trigger == TriggerEvent && w.change.Version > view.Version {
		// The extension's cached copy predates the event (its TTL has not run out yet): the event
		// is the newer word on the circuit. Its "to" is the circuit's label, an override's when one
		// is set, so HALF_OPEN or CLOSED there means no override at that version.
		log.InfoContext(ctx, "wake-up: the event is newer than the extension's copy of the circuit",
			"cachedState", view.State, "cachedOverride", view.Override, "cachedVersion", view.Version)
		view.State, view.Override, view.Version, view.RetryAt = w.change.To, "", w.change.Version, time.Time{}
	}
	res.CircuitState = view.State
	now := h.Now()
	if leave, why := circuitSays(snap.State, w.trigger, view); leave {
		res.Action, res.Reason = WakeIdle, why
		log.InfoContext(ctx, "self-wake: left to the circuit; mapping stays disabled", "reason", why, "circuitState", view.State)
		return res, nil
	}
	if wait, why := notYet(snap.State, w.trigger, now); wait {
		res.Action, res.Reason = WakeWaiting, why
		res.WakeAt = time.UnixMilli(snap.State.WakeAt).UTC()
		log.InfoContext(ctx, "wake-up: too early for the self-wake; mapping stays disabled", "reason", why, "wakeAt", res.WakeAt)
		return res, nil
	}
	if ok, why := probeable(view, now); !ok {
		res.Action, res.Reason = WakeWaiting, why
		if _, err := h.Mapping.Apply(ctx, mapping.Want{Enabled: mapping.Disable}, false); err != nil {
			log.WarnContext(ctx, "wake-up: could not make sure the mapping is disabled", "error", err.Error())
		}
		log.InfoContext(ctx, "wake-up: circuit does not allow a probe yet; mapping stays disabled", "reason", why)
		return res, nil
	}
	// Resume the controller, marked Resuming until the mapping is seen enabled.
	ch, err := h.State.UpdateEntry(ctx, uuid, snap, func(prev controlstate.Entry) (controlstate.Entry, adaptive.Decision) {
		s, d := h.Controller.Resume(prev.State, now)
		return controlstate.Entry{State: s, Marks: controlstate.Marks{Resuming: true}}, d
	})
	if err != nil {
		return res, fmt.Errorf("wake-up: resume the controller: %w", err)
	}
	res.BatchSize = ch.Next.BatchSize
	want := h.want(ch.Decision)
	want.Enabled = mapping.Enable
	a, err := h.Mapping.Apply(ctx, want, true)
	if err != nil {
		log.ErrorContext(ctx, "wake-up: enabling the mapping failed; still marked tripped, the next wake-up retries", "error", err.Error())
		return res, fmt.Errorf("wake-up: enable the mapping (kept marked for the next wake-up): %w", err)
	}
	if !a.After.Enabled {
		return res, fmt.Errorf("wake-up: the mapping is %s after enabling it (kept marked for the next wake-up)", a.After.State)
	}
	if _, err := h.State.UpdateEntry(ctx, uuid, controlstate.Snapshot{State: ch.Next, Marks: ch.Marks, Version: ch.Version},
		func(prev controlstate.Entry) (controlstate.Entry, adaptive.Decision) {
			prev.Marks.Resuming = false
			return prev, adaptive.Decision{BatchSize: prev.State.BatchSize, Reason: "mapping enabled"}
		}); err != nil {
		// The mapping runs; the next wake-up finds it enabled and clears the mark.
		log.WarnContext(ctx, "wake-up: mapping enabled but the mark not cleared", "error", err.Error())
	}
	res.Action = WakeResumed
	res.Concurrency = ch.Next.Concurrency
	res.Reason = fmt.Sprintf("circuit %s allows a call: mapping enabled at concurrency %d, batch size %d", view.State, ch.Next.Concurrency, ch.Next.BatchSize)
	log.InfoContext(ctx, "wake-up: mapping re-enabled", "circuitState", view.State, "batchSize", ch.Next.BatchSize,
		"concurrency", ch.Next.Concurrency, "mappingChanged", a.Changed)
	if err := h.Metrics.Write(emf.Metrics{Circuit: h.cfg.Circuit, BatchSize: ch.Next.BatchSize, Concurrency: ch.Next.Concurrency,
		Properties: map[string]any{"mapping": uuid, "reason": res.Reason, "wakeUp": true, "trigger": w.trigger}}); err != nil {
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
