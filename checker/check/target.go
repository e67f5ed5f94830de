package check

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/breakerbox/breakerbox/checker/input"
	"github.com/breakerbox/breakerbox/checker/internal/probe"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// checkOne checks one target: decide from the circuit read, maybe take a probe permit, probe,
// record, publish. known holds the circuits read in batch; a missing one is read here.
func (h *Handler) checkOne(ctx, probeCtx context.Context, t input.Target, known map[string]circuit.Circuit, lim limits, log *slog.Logger) TargetResult {
	r := TargetResult{ID: t.ID, URL: t.URL.Redacted()}
	if err := context.Cause(probeCtx); err != nil {
		return h.notRecorded(r, log, "not checked: "+err.Error())
	}
	c, ok := known[t.ID]
	if !ok {
		var err error
		if serr := do(ctx, lim.store, func() { c, err = h.store.GetConsistent(ctx, t.ID) }); serr != nil {
			err = serr
		}
		if errors.Is(err, store.ErrNotFound) {
			c, err = circuit.Circuit{ID: t.ID}, nil
		}
		if err != nil {
			return h.notRecorded(r, log, err.Error())
		}
	}
	policyFor := func(c circuit.Circuit) (circuit.Policy, error) {
		p, err := store.PolicyFor(h.cfg.Policy, c)
		if err == nil && t.SlowCall > 0 {
			p.SlowCall = t.SlowCall // the target's own threshold wins, for the probe and the window alike
		}
		return p, err
	}
	pol, err := policyFor(c)
	if err != nil {
		return h.notRecorded(r, log, err.Error())
	}
	r.State, r.Version = c.Label(), c.Version
	now := h.cfg.Now()
	switch {
	case c.Override == circuit.ForcedOpen:
		return skipped(r, log, "forced open by operator: "+c.Reason)
	case c.Override == circuit.NoOverride && c.State == circuit.Open && now.Before(c.RetryAt):
		return skipped(r, log, "open until "+events.FormatTime(c.RetryAt))
	}
	trial := c.Override == circuit.NoOverride && (c.State == circuit.Open || c.State == circuit.HalfOpen)
	var (
		pr             probe.Result
		permit, failed string
		skip           string
		acquiredAt     time.Time
		tooLong        time.Duration // the probe's timeout, when it ran past what the invocation left
	)
	// A trial takes its probe slot before its permit: the permit's lease must not run out while the
	// trial waits for a slot behind hanging services.
	if err := do(probeCtx, lim.probe, func() {
		if trial {
			var why string
			if c, permit, acquiredAt, why, failed = h.acquire(ctx, lim, &r, c, policyFor, log); failed != "" || why != "" {
				skip = why
				return
			}
		}
		pt := t
		if permit != "" {
			// A trial must be reported while its permit lives: one reported later is void and leaves
			// the circuit HALF_OPEN, so it ends, as a timeout, before the lease does.
			trialEnd := acquiredAt.Add(pol.ProbeLease - leaseMargin(pol.ProbeLease))
			if left := trialEnd.Sub(h.cfg.Now()); left < pt.Timeout {
				pt.Timeout = left
				log.Debug("trial cut to the probe lease", "timeout", left.String(), "probeLease", pol.ProbeLease.String())
			}
			if pt.Timeout <= 0 {
				pr = probe.Result{Aborted: true, Err: "aborted: the probe lease ran out before the probe could start"}
				return
			}
		}
		if dl, ok := probeCtx.Deadline(); ok && time.Until(dl) < pt.Timeout {
			tooLong = pt.Timeout
		}
		pr = h.prober.Probe(probeCtx, pt, pol.SlowCall)
	}); err != nil {
		pr = probe.Result{Aborted: true, Err: "aborted: " + err.Error()}
	}
	switch {
	case failed != "":
		return h.notRecorded(r, log, failed)
	case skip != "":
		return skipped(r, log, skip)
	}
	r.OK, r.LatencyMs, r.Status, r.Error = pr.OK, pr.Latency.Milliseconds(), pr.Status, pr.Err
	if pr.Aborted {
		h.release(ctx, lim, c, permit, log)
		r.OK, r.Error = false, ""
		why := "probe not recorded: " + pr.Err
		if tooLong > 0 && errors.Is(context.Cause(probeCtx), errDeadlineNear) {
			// The same every run: the service's circuit would never see a timeout.
			why += fmt.Sprintf(" (the target's %s timeout runs past what the invocation leaves for probes: give the function a timeout at least %s longer than the longest probe timeout)",
				tooLong, (h.cfg.Reserve + AnswerMargin).Round(100*time.Millisecond))
		}
		return h.notRecorded(r, log, why)
	}
	obs := circuit.Observation{
		Outcomes: []circuit.Outcome{{OK: pr.OK, Latency: pr.Latency, Permit: permit, Err: pr.Err}},
		Checked:  true,
	}
	now = h.cfg.Now()
	res, err := h.apply(ctx, lim, c, func(prev circuit.Circuit) (circuit.Result, error) {
		p, err := policyFor(prev)
		if err != nil {
			return circuit.Result{}, err
		}
		res := circuit.Observe(prev, obs, p, now)
		if permit == "" && h.routine(prev, res, now) {
			return circuit.Result{Circuit: prev}, nil // nothing new to say: skip the write
		}
		return res, nil
	})
	if err != nil {
		return h.notRecorded(r, log, err.Error())
	}
	h.transition(ctx, &r, res, log)
	r.Probed, r.Recorded = true, res.Changed
	level := slog.LevelDebug
	if !pr.OK {
		level = slog.LevelInfo
	}
	log.Log(ctx, level, "probed", "url", r.URL, "ok", pr.OK, "latencyMs", r.LatencyMs, "status", pr.Status,
		"error", pr.Err, "state", r.State, "version", r.Version, "recorded", r.Recorded)
	return r
}

// acquire takes the half-open probe permit for c's trial (moving an OPEN circuit past its retryAt
// to HALF_OPEN) and publishes any transition. It returns the circuit as written, the permit and the
// time its lease started from; or why the trial is skipped (the permit is held elsewhere); or why
// the check cannot be recorded.
func (h *Handler) acquire(ctx context.Context, lim limits, r *TargetResult, c circuit.Circuit,
	policyFor func(circuit.Circuit) (circuit.Policy, error), log *slog.Logger) (next circuit.Circuit, permit string, at time.Time, skip, failed string) {
	var dec circuit.Decision
	permit = "checker:" + rand.Text()[:16]
	now := h.cfg.Now()
	res, err := h.apply(ctx, lim, c, func(prev circuit.Circuit) (circuit.Result, error) {
		p, err := policyFor(prev)
		if err != nil {
			return circuit.Result{}, err
		}
		var res circuit.Result
		res, dec = circuit.Acquire(prev, permit, p, now)
		return res, nil
	})
	if err != nil {
		return c, "", now, "", err.Error()
	}
	h.transition(ctx, r, res, log)
	if !dec.Allowed {
		why := "another caller holds the half-open probe"
		if !dec.RetryAt.IsZero() {
			why += " until " + events.FormatTime(dec.RetryAt)
		}
		return c, "", now, why, ""
	}
	return res.Circuit, dec.Permit, now, "", "" // no permit when the circuit closed meanwhile: a plain check
}

// leaseMargin is kept between a trial's end and its permit's lease end, for the write that reports
// it: a fifth of the lease, at most 2s.
func leaseMargin(lease time.Duration) time.Duration { return min(lease/5, 2*time.Second) }

// apply decides from prev, the copy already in hand, and writes the result on condition that the
// stored version is still prev's: one write and no read in the usual case. A lost race goes through
// the store's Update, which re-reads and re-decides until it wins.
func (h *Handler) apply(ctx context.Context, lim limits, prev circuit.Circuit, decide store.Decide) (circuit.Result, error) {
	res, err := decide(prev)
	if err != nil || !res.Changed {
		return res, err
	}
	if serr := do(ctx, lim.store, func() {
		err = h.store.Put(ctx, res.Circuit)
		if errors.Is(err, store.ErrConflict) {
			res, err = h.store.Update(ctx, prev.ID, decide)
		}
	}); serr != nil {
		return circuit.Result{}, serr
	}
	if err != nil {
		return circuit.Result{}, err
	}
	return res, nil
}

// release gives back a permit that was taken for a probe that was never completed, so others need
// not wait for its lease to lapse.
func (h *Handler) release(ctx context.Context, lim limits, c circuit.Circuit, permit string, log *slog.Logger) {
	if permit == "" {
		return
	}
	now := h.cfg.Now()
	_, err := h.apply(ctx, lim, c, func(prev circuit.Circuit) (circuit.Result, error) {
		return circuit.Release(prev, permit, now), nil
	})
	if err != nil {
		log.Warn("could not release probe permit; it lapses with its lease", "permit", permit, "error", err.Error())
	}
}

// transition records, logs and publishes res's transition, if any, with the transitions an earlier
// writer of the circuit could not publish (events.Outbox). A failed publish is logged, counted and
// recorded in the circuit item for the next writer; the state is already written and stays so.
func (h *Handler) transition(ctx context.Context, r *TargetResult, res circuit.Result, log *slog.Logger) {
	if res.Circuit.Exists() {
		r.State, r.Version = res.Circuit.Label(), res.Circuit.Version
	}
	if !res.Changed {
		return
	}
	d := events.FromTransition(r.ID, res.Transition)
	if res.Transition.Happened() {
		r.Transitions = append(r.Transitions, d)
		log.Info("circuit state change", "from", d.From, "to", d.To, "reason", d.Reason, "version", d.Version, "at", d.At)
	}
	ob := events.Outbox{Sender: h.pub, Store: h.store, Log: log}
	if err := ob.Send(ctx, r.ID, res); err != nil {
		r.publishFailed++
		r.PublishError = err.Error()
		log.Error("state change written but not published", "from", d.From, "to", d.To, "version", d.Version, "error", err.Error())
	}
}

func skipped(r TargetResult, log *slog.Logger, why string) TargetResult {
	r.Skipped = why
	log.Info("not probed", "why", why, "state", r.State, "version", r.Version)
	return r
}

func (h *Handler) notRecorded(r TargetResult, log *slog.Logger, why string) TargetResult {
	r.StoreError = why
	log.Error("check not recorded", "error", why)
	return r
}
