package circuit

import (
	"fmt"
	"math"
	"time"
)

// Outcome is the result of one call to the protected service.
type Outcome struct {
	OK      bool
	Latency time.Duration
	// Permit is the half-open permit the call was made under, if any.
	Permit string
	// Probe marks an active probe (the checker's): it is a half-open trial without needing a permit.
	Probe bool
	// Err is a short classification of a failure ("timeout", "status 503", ...), for lastError.
	Err string
}

// Observation is what one part saw since it last wrote.
type Observation struct {
	// Outcomes in the order they completed.
	Outcomes []Outcome
	// Window holds the counts over the sliding window, Outcomes included, when known (see SumWindow).
	Window Counts
	// Recent holds the counts of a recent span every call of which is known (Policy.RecentReason):
	// the last Policy.RecentSpan for a process that sees every call, the calls made since a fleet's
	// bad-window mark by environments that knew it for the extension (circuit.Aware). Zero when nothing
	// complete is known.
	Recent Counts
	// Checked records the last outcome as the circuit's last check result.
	Checked bool
}

// Transition is a change of the circuit's label (its override if set, else its state).
type Transition struct {
	From, To string
	Reason   string
	At       time.Time
	Version  int64
}

// Happened reports whether there was a transition.
func (t Transition) Happened() bool { return t.To != "" }

// Result is the outcome of a decision.
type Result struct {
	// Circuit is the next circuit. When Changed, its Version is one above the previous one and it
	// must be written on condition that the stored version is still the previous one.
	Circuit    Circuit
	Changed    bool
	Transition Transition
}

// Decision answers "may I call now?".
type Decision struct {
	Allowed bool
	// Permit is set when the caller holds a half-open probe permit; it reports it back with the outcome.
	Permit string
	// RetryAt is when a denied caller may try again: an OPEN circuit's retryAt, or in HALF_OPEN the end
	// of the earliest live probe lease. Zero when unknown (e.g. FORCED_OPEN).
	RetryAt time.Time
}

// Label is the circuit's override when set, else its state.
func (c *Circuit) Label() string {
	if c.Override != NoOverride {
		return string(c.Override)
	}
	return string(c.State)
}

// Observe applies outcomes and window counts to prev. prev.ID must be set; a prev that does not exist
// yet is created CLOSED. Overrides block every automatic transition.
func Observe(prev Circuit, obs Observation, p Policy, now time.Time) Result {
	c := prev
	changed := false
	if !c.Exists() {
		c.State, c.Since, c.Reason = Closed, now, "created by first observation"
		changed = true
	}
	if obs.Checked && len(obs.Outcomes) > 0 {
		last := obs.Outcomes[len(obs.Outcomes)-1]
		c.CheckedAt, c.LastLatencyMs, c.LastError = now, last.Latency.Milliseconds(), last.Err
		if !last.OK && last.Err == "" {
			c.LastError = "failed"
		}
		changed = true
	}
	var tr Transition
	if c.Override == NoOverride {
		switch c.State {
		case Closed:
			changed = observeClosed(&c, obs, p, now, &tr) || changed
		case HalfOpen:
			changed = observeHalfOpen(&c, obs, p, now, &tr) || changed
		case Open:
			// Outcomes reported while OPEN belong to calls started earlier: they change nothing.
		}
	}
	return finish(prev, c, changed, tr, now)
}

func observeClosed(c *Circuit, obs Observation, p Policy, now time.Time, tr *Transition) bool {
	changed := false
	consec, run := c.ConsecutiveFailures, 0
	for _, o := range obs.Outcomes {
		if o.OK {
			consec = 0
		} else {
			consec++
			run = max(run, consec)
		}
	}
	// A run that reached the threshold trips even if a later success in the same batch ended it:
	// the decision must not depend on where a reporter happened to cut its batches.
	if p.ConsecutiveFailures > 0 && run >= p.ConsecutiveFailures {
		consec = run
	}
	if consec != c.ConsecutiveFailures {
		c.ConsecutiveFailures = consec
		changed = true
	}
	if reason := tripReason(c, obs.Window, obs.Recent, p); reason != "" {
		open(c, p, now, reason, tr)
		changed = true
	}
	return changed
}

// tripReason says why a CLOSED circuit must open, or "" if it need not. w is the window as known to
// the decider, recent a span of it whose every call is known: the checker, which reads no window,
// passes neither and so judges by runs alone.
func tripReason(c *Circuit, w, recent Counts, p Policy) string {
	if w.Calls >= p.MinCalls {
		calls := float64(w.Calls)
		if fr := float64(w.Failures) / calls; fr >= p.FailureRate {
			return fmt.Sprintf("failure rate %s ≥ %s over %d calls", pct(fr), pct(p.FailureRate), w.Calls)
		}
		if sr := float64(w.Slow) / calls; sr >= p.SlowCallRate {
			return fmt.Sprintf("slow call rate %s ≥ %s over %d calls (slower than %s)", pct(sr), pct(p.SlowCallRate), w.Calls, p.SlowCall)
		}
	}
	// The recent span: a total outage trips as soon as its calls prove the rate, not once it fills
	// half the window.
	if reason := p.RecentReason(recent); reason != "" {
		return reason
	}
	// The low-traffic rule: a run of failures trips only while the window holds fewer than MinCalls
	// calls. Above that the rates decide (at a 25 % failure rate, three in a row is common).
	if p.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= p.ConsecutiveFailures && max(w.Calls, recent.Calls) < p.MinCalls {
		return fmt.Sprintf("%d consecutive failures", c.ConsecutiveFailures)
	}
	return ""
}

func observeHalfOpen(c *Circuit, obs Observation, p Policy, now time.Time, tr *Transition) bool {
	probes, changed := c.liveProbes(now)
	c.Probes = probes
	for _, o := range obs.Outcomes {
		trial := o.Probe
		if o.Permit != "" {
			if i := probeIndex(c.Probes, o.Permit); i >= 0 {
				c.Probes = without(c.Probes, i)
				trial, changed = true, true
			}
		}
		if !trial {
			continue // a late report from before HALF_OPEN, or a void permit: not a trial
		}
		changed = true
		if !o.OK || o.Latency > p.SlowCall {
			reason := "probe failed"
			switch {
			case o.Err != "":
				reason += " (" + o.Err + ")"
			case o.OK:
				reason += " (slower than " + p.SlowCall.String() + ")"
			}
			open(c, p, now, reason, tr)
			return true
		}
		c.ProbeSuccesses++
		if c.ProbeSuccesses >= p.SuccessThreshold {
			closeCircuit(c, now, plural(c.ProbeSuccesses, "successful probe"), tr)
			return true
		}
	}
	return changed
}

// Acquire asks whether a call may go out now. In HALF_OPEN (and in OPEN once RetryAt has passed,
// which moves the circuit to HALF_OPEN) at most HalfOpenProbes live permits exist; permit is the id
// the caller would hold. A Changed result must be written conditionally before the permit counts.
func Acquire(prev Circuit, permit string, p Policy, now time.Time) (Result, Decision) {
	c := prev
	switch {
	case !c.Exists(), c.Override == ForcedClosed:
		return Result{Circuit: c}, Decision{Allowed: true}
	case c.Override == ForcedOpen:
		return Result{Circuit: c}, Decision{}
	}
	var tr Transition
	switch c.State {
	case Closed:
		return Result{Circuit: c}, Decision{Allowed: true}
	case Open:
		if now.Before(c.RetryAt) {
			return Result{Circuit: c}, Decision{RetryAt: c.RetryAt}
		}
		from := c.Label()
		c.State, c.Since, c.RetryAt, c.ProbeSuccesses, c.Probes = HalfOpen, now, time.Time{}, 0, nil
		c.Reason = fmt.Sprintf("open time over after %s; probing", now.Sub(prev.Since).Round(time.Second))
		tr = Transition{From: from, To: string(HalfOpen), Reason: c.Reason, At: now}
	case HalfOpen:
		live, _ := c.liveProbes(now)
		if len(live) >= p.HalfOpenProbes {
			return Result{Circuit: c}, Decision{RetryAt: earliest(live)}
		}
		c.Probes = live
	}
	c.Probes = append(c.Probes[:len(c.Probes):len(c.Probes)], Probe{Permit: permit, Until: now.Add(p.ProbeLease)})
	return finish(prev, c, true, tr, now), Decision{Allowed: true, Permit: permit}
}

// Force sets an operator override. reason is kept as the circuit's reason.
func Force(prev Circuit, o Override, reason string, now time.Time) Result {
	c := prev
	if !c.Exists() {
		c.Since = now
	}
	from := c.Label()
	c.Override, c.Probes, c.ProbeSuccesses, c.RetryAt, c.ConsecutiveFailures = o, nil, 0, time.Time{}, 0
	switch o {
	case ForcedOpen:
		c.State = Open
	case ForcedClosed, NoOverride:
		c.State, c.OpenCount = Closed, 0
	}
	if reason == "" {
		reason = "set by operator"
	}
	c.Reason = string(o) + ": " + reason
	if o == NoOverride {
		c.Reason = "override cleared: " + reason
	}
	if c.State != prev.State || from != c.Label() {
		c.Since = now
	}
	tr := Transition{From: from, To: c.Label(), Reason: c.Reason, At: now}
	if !prev.Exists() {
		tr.From = ""
	}
	if tr.From == tr.To {
		tr = Transition{}
	}
	return finish(prev, c, true, tr, now)
}

// Clear removes an override; the circuit starts again CLOSED with a fresh count.
func Clear(prev Circuit, reason string, now time.Time) Result {
	return Force(prev, NoOverride, reason, now)
}

func open(c *Circuit, p Policy, now time.Time, reason string, tr *Transition) {
	from := c.Label()
	c.OpenCount++
	d := p.OpenDurationFor(c.ID, c.OpenCount, c.Version+1)
	c.State, c.Since, c.RetryAt = Open, now, now.Add(d)
	c.Probes, c.ProbeSuccesses, c.ConsecutiveFailures = nil, 0, 0
	c.Reason = reason + "; open for " + d.Round(time.Second).String()
	*tr = Transition{From: from, To: string(Open), Reason: c.Reason, At: now}
}

func closeCircuit(c *Circuit, now time.Time, reason string, tr *Transition) {
	from := c.Label()
	c.State, c.Since, c.RetryAt, c.Reason = Closed, now, time.Time{}, reason
	c.OpenCount, c.Probes, c.ProbeSuccesses, c.ConsecutiveFailures = 0, nil, 0, 0
	*tr = Transition{From: from, To: string(Closed), Reason: reason, At: now}
}

func finish(prev, c Circuit, changed bool, tr Transition, now time.Time) Result {
	if !changed {
		return Result{Circuit: prev}
	}
	c.Version = prev.Version + 1
	c.UpdatedAt = now
	if tr.Happened() {
		tr.Version = c.Version
	}
	return Result{Circuit: c, Changed: true, Transition: tr}
}

func probeIndex(probes []Probe, permit string) int {
	for i, p := range probes {
		if p.Permit == permit {
			return i
		}
	}
	return -1
}

// without returns probes minus element i in a new slice, leaving the caller's slice untouched.
func without(probes []Probe, i int) []Probe {
	out := make([]Probe, 0, len(probes)-1)
	out = append(out, probes[:i]...)
	return append(out, probes[i+1:]...)
}

func earliest(probes []Probe) time.Time {
	var t time.Time
	for _, p := range probes {
		if t.IsZero() || p.Until.Before(t) {
			t = p.Until
		}
	}
	return t
}

func pct(f float64) string { return fmt.Sprintf("%d%%", int(math.Round(f*100))) }

// Release gives a half-open permit back without counting a trial (the caller decided not to call).
// Releasing a permit that is not held changes nothing.
func Release(prev Circuit, permit string, now time.Time) Result {
	i := probeIndex(prev.Probes, permit)
	if i < 0 {
		return Result{Circuit: prev}
	}
	c := prev
	c.Probes = without(c.Probes, i)
	return finish(prev, c, true, Transition{}, now)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
