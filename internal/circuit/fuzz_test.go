package circuit

import (
	"fmt"
	"testing"
	"time"
)

// Fuzz input format. The first four bytes pick the policy; then each operation is an opcode byte
// followed by its arguments. Missing bytes read as zero, so every input is valid.
const (
	fzObserve     = iota // n, n×outcome, calls, failures, slow, flags(bit0 Checked)
	fzAcquire            // (no arguments) permit "p<k>" with k counting up
	fzForceOpen          //
	fzForceClosed        //
	fzClear              //
	fzAdvance            // b: b<128 → b×500ms, else (b-127)×10s
	fzRace               // k, kind: decide from an older circuit (a lost race) and drop the result
	fzOps
)

// Outcome byte bits.
const (
	fzOK        = 1 << 0
	fzSlow      = 1 << 1
	fzPermitBit = 2 // bits 2-3: 0 none, 1 the first probe, 2 the last probe, 3 an unknown permit
	fzProbe     = 1 << 4
	fzNoErr     = 1 << 5
)

type fuzzInput struct {
	data []byte
	i    int
}

func (in *fuzzInput) next() byte {
	if in.i >= len(in.data) {
		in.i++
		return 0
	}
	b := in.data[in.i]
	in.i++
	return b
}

func (in *fuzzInput) done() bool { return in.i >= len(in.data) }

// snapshot is a circuit as it was returned, with a private copy of its probes to detect later writes.
type snapshot struct {
	c      Circuit
	probes []Probe
}

func snap(c Circuit) snapshot { return snapshot{c: c, probes: append([]Probe(nil), c.Probes...)} }

func FuzzTransitions(f *testing.F) {
	defaults := []byte{0, 1, 3, 9} // HalfOpenProbes 1, SuccessThreshold 2, ConsecutiveFailures 3, MinCalls 10
	seed := func(policy []byte, ops ...[]byte) []byte {
		out := append([]byte(nil), policy...)
		for _, op := range ops {
			out = append(out, op...)
		}
		return out
	}
	threeFailures := []byte{fzObserve, 3, 0, 0, 0, 3, 3, 0, 0}
	okWithFirstPermit := byte(fzOK | 1<<fzPermitBit)
	toRetry := []byte{fzAdvance, 80} // 40s: past a first open of 30s ± 10%

	f.Add([]byte{})
	f.Add(seed(defaults))
	// Trip, probe twice, close.
	f.Add(seed(defaults, threeFailures, toRetry, []byte{fzAcquire},
		[]byte{fzObserve, 1, okWithFirstPermit, 0, 0, 0, 0}, []byte{fzAcquire},
		[]byte{fzObserve, 1, okWithFirstPermit, 0, 0, 0, 1}))
	// Trip, probe fails (slow success), back off, probe again after the longer open.
	f.Add(seed(defaults, threeFailures, toRetry, []byte{fzAcquire},
		[]byte{fzObserve, 1, fzOK | fzSlow | 1<<fzPermitBit, 0, 0, 0, 1}, []byte{fzAdvance, 133}, []byte{fzAcquire}))
	// Lease expiry: a second acquire is refused, then granted 31s later; the lost permit reports late.
	f.Add(seed(defaults, threeFailures, toRetry, []byte{fzAcquire}, []byte{fzAcquire}, []byte{fzAdvance, 62},
		[]byte{fzAcquire}, []byte{fzObserve, 2, 1 << fzPermitBit, fzOK | 2<<fzPermitBit, 0, 0, 0, 0}))
	// Rate trip from window counts with non-consecutive failures, then overrides.
	f.Add(seed(defaults, []byte{fzObserve, 4, 0, fzOK, 0, fzOK, 13, 8, 0, 1}, []byte{fzForceClosed},
		[]byte{fzObserve, 3, 0, 0, 0, 50, 50, 50, 0}, []byte{fzForceOpen}, []byte{fzAcquire}, []byte{fzClear}))
	// Several probes and thresholds, checker probes, lost races on old copies.
	f.Add(seed([]byte{2, 2, 0, 0}, threeFailures, []byte{fzObserve, 0, 10, 10, 10, 0}, toRetry,
		[]byte{fzAcquire}, []byte{fzAcquire}, []byte{fzRace, 1, 0}, []byte{fzAcquire}, []byte{fzRace, 2, 1},
		[]byte{fzObserve, 3, fzOK | fzProbe, okWithFirstPermit, fzOK | 2<<fzPermitBit, 0, 0, 0, 1}))
	// Five probes allowed: the permit slice grows with spare capacity, then a lost race appends to
	// an older copy of it (the write must not land in the newer circuit's backing array).
	f.Add(seed([]byte{4, 1, 3, 9}, threeFailures, toRetry, []byte{fzAcquire}, []byte{fzAcquire}, []byte{fzAcquire},
		[]byte{fzAcquire}, []byte{fzRace, 1, 0}))
	// Slow-call trip, then time jumps far past everything.
	f.Add(seed(defaults, []byte{fzObserve, 2, fzOK | fzSlow, fzOK | fzSlow, 10, 0, 6, 0}, []byte{fzAdvance, 255},
		[]byte{fzAdvance, 255}, []byte{fzAcquire}, []byte{fzAdvance, 100}, []byte{fzAcquire}))

	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{data: data}
		p := DefaultPolicy()
		p.HalfOpenProbes = 1 + int(in.next()%5)
		p.SuccessThreshold = 1 + int(in.next()%3)
		p.ConsecutiveFailures = int(in.next() % 5)
		p.MinCalls = 1 + int64(in.next()%12)
		if err := p.Validate(); err != nil {
			t.Fatalf("fuzz policy invalid: %v", err)
		}

		now := t0
		cur := Circuit{ID: "fz:" + fmt.Sprint(len(data)%7)}
		history := []snapshot{snap(cur)}
		permits := 0

		for step := 0; !in.done() && step < 500; step++ {
			op := in.next() % fzOps
			prev := cur
			before := snap(prev)
			var r Result
			var dec *Decision
			what, detail := "", any(nil)
			switch op {
			case fzObserve:
				obs := fuzzObservation(in, prev, p)
				what, detail = "Observe", obs
				r = Observe(prev, obs, p, now)
			case fzAcquire:
				permits++
				permit := fmt.Sprintf("p%d", permits)
				what, detail = "Acquire", permit
				var d Decision
				r, d = Acquire(prev, permit, p, now)
				dec = &d
			case fzForceOpen:
				what, r = "Force(FORCED_OPEN)", Force(prev, ForcedOpen, "fuzz", now)
			case fzForceClosed:
				what, r = "Force(FORCED_CLOSED)", Force(prev, ForcedClosed, "fuzz", now)
			case fzClear:
				what, r = "Clear", Clear(prev, "", now)
			case fzAdvance:
				b := in.next()
				if b < 128 {
					now = now.Add(time.Duration(b) * 500 * time.Millisecond)
				} else {
					now = now.Add(time.Duration(b-127) * 10 * time.Second)
				}
				continue
			case fzRace:
				// Another decider works from an older copy; its result loses the conditional write.
				old := history[len(history)-1-int(in.next())%len(history)]
				oldBefore := snap(old.c)
				var lost Result
				var d *Decision
				if in.next()%2 == 0 {
					permits++
					d = new(Decision)
					detail = fmt.Sprintf("p%d", permits)
					lost, *d = Acquire(old.c, detail.(string), p, now)
				} else {
					obs := fuzzObservation(in, old.c, p)
					detail = obs
					lost = Observe(old.c, obs, p, now)
				}
				checkStep(t, "lost race", detail, p, now, oldBefore, old.c, lost, d)
				checkHistory(t, step, "lost race", detail, history)
				continue
			}
			checkStep(t, what, detail, p, now, before, prev, r, dec)
			cur = r.Circuit
			history = append(history, snap(cur))
			checkHistory(t, step, what, detail, history)
		}
	})
}

// checkHistory checks that no decision wrote into a circuit handed out earlier.
func checkHistory(t *testing.T, step int, what string, detail any, history []snapshot) {
	t.Helper()
	for i, h := range history {
		if !equalProbes(h.c.Probes, h.probes) {
			t.Fatalf("step %d (%s %+v): circuit %d of the history had its probes changed to %v, was %v", step, what, detail, i, h.c.Probes, h.probes)
		}
	}
}

// fuzzObservation reads an observation. Permits are picked from prev's probes so that reports match.
func fuzzObservation(in *fuzzInput, prev Circuit, p Policy) Observation {
	n := int(in.next() % 8)
	var obs Observation
	for range n {
		b := in.next()
		o := Outcome{OK: b&fzOK != 0, Latency: 10 * time.Millisecond, Probe: b&fzProbe != 0}
		if b&fzSlow != 0 {
			o.Latency = p.SlowCall + time.Millisecond
		}
		if !o.OK && b&fzNoErr == 0 {
			o.Err = "timeout"
		}
		switch (b >> fzPermitBit) & 3 {
		case 1:
			if len(prev.Probes) > 0 {
				o.Permit = prev.Probes[0].Permit
			}
		case 2:
			if len(prev.Probes) > 0 {
				o.Permit = prev.Probes[len(prev.Probes)-1].Permit
			}
		case 3:
			o.Permit = "unknown"
		}
		obs.Outcomes = append(obs.Outcomes, o)
	}
	calls := int64(in.next())
	obs.Window = Counts{Calls: calls, Failures: int64(in.next()) % (calls + 1), Slow: int64(in.next()) % (calls + 1)}
	obs.Checked = in.next()&1 != 0
	return obs
}

// checkStep checks the invariants of one decision taken from prev (before is prev as it was).
func checkStep(t *testing.T, what string, detail any, p Policy, now time.Time, before snapshot, prev Circuit, r Result, dec *Decision) {
	t.Helper()
	c := r.Circuit
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s(%+v) at t0+%v from %+v:\n\tresult %+v\n\t%s", what, detail, now.Sub(t0), prev, r, fmt.Sprintf(format, args...))
	}

	// prev is never mutated.
	if !equalProbes(prev.Probes, before.probes) {
		fail("prev.Probes changed to %v, was %v", prev.Probes, before.probes)
	}
	// Version grows by exactly one per Changed result and never otherwise.
	if r.Changed {
		if c.Version != prev.Version+1 {
			fail("Changed with version %d over %d", c.Version, prev.Version)
		}
		if !c.UpdatedAt.Equal(now) {
			fail("Changed with UpdatedAt %v", c.UpdatedAt)
		}
	} else {
		if c.Version != prev.Version || c.State != prev.State || c.Override != prev.Override || c.Reason != prev.Reason ||
			!c.RetryAt.Equal(prev.RetryAt) || c.OpenCount != prev.OpenCount || !equalProbes(c.Probes, prev.Probes) ||
			c.ProbeSuccesses != prev.ProbeSuccesses || c.ConsecutiveFailures != prev.ConsecutiveFailures {
			fail("unchanged result differs from prev")
		}
		if r.Transition.Happened() {
			fail("transition without a change")
		}
	}
	if !c.Exists() {
		// Only Acquire leaves a circuit unborn, and then it must allow the call.
		if r.Changed || dec == nil || !dec.Allowed {
			fail("circuit still does not exist")
		}
		return
	}

	// Transitions.
	tr := r.Transition
	if tr.Happened() {
		if tr.From == "CLOSED" && tr.To == "HALF_OPEN" {
			fail("CLOSED → HALF_OPEN")
		}
		if tr.To == "HALF_OPEN" && tr.From != "OPEN" {
			fail("HALF_OPEN entered from %s", tr.From)
		}
		if tr.From == tr.To || tr.To != c.Label() || tr.Version != c.Version || !tr.At.Equal(now) || tr.Reason != c.Reason {
			fail("inconsistent transition")
		}
		if prev.Exists() && tr.From != prev.Label() {
			fail("transition from %q but prev was %q", tr.From, prev.Label())
		}
	} else if prev.Exists() && prev.Label() != c.Label() {
		fail("label changed %s → %s without a transition", prev.Label(), c.Label())
	}
	if c.State == HalfOpen && prev.Exists() && prev.State == Closed {
		fail("CLOSED → HALF_OPEN")
	}

	// Label and override.
	if _, err := ParseState(string(c.State)); err != nil {
		fail("state: %v", err)
	}
	switch c.Override {
	case NoOverride:
		if c.Label() != string(c.State) {
			fail("label %q for state %q", c.Label(), c.State)
		}
	case ForcedOpen:
		if c.State != Open || c.Label() != "FORCED_OPEN" {
			fail("FORCED_OPEN with state %s", c.State)
		}
	case ForcedClosed:
		if c.State != Closed || c.Label() != "FORCED_CLOSED" {
			fail("FORCED_CLOSED with state %s", c.State)
		}
	default:
		fail("override %q", c.Override)
	}
	auto := c.Override == NoOverride

	// RetryAt non-zero exactly in OPEN without override, and then within the backoff bounds.
	if !c.RetryAt.IsZero() != (auto && c.State == Open) {
		fail("RetryAt %v in %s", c.RetryAt, c.Label())
	}
	if !c.RetryAt.IsZero() {
		d := c.RetryAt.Sub(c.Since)
		lo := time.Duration(float64(p.OpenDuration) * (1 - Jitter))
		hi := time.Duration(float64(p.MaxOpenDuration) * (1 + Jitter))
		if d < lo || d > hi {
			fail("open for %v, outside [%v, %v]", d, lo, hi)
		}
	}

	// Probes: only in HALF_OPEN, never more live ones than allowed.
	live := 0
	for _, pr := range c.Probes {
		if now.Before(pr.Until) {
			live++
		}
		if pr.Until.After(now.Add(p.ProbeLease)) {
			fail("probe %+v leased beyond now+ProbeLease", pr)
		}
	}
	if live > p.HalfOpenProbes {
		fail("%d live probes, at most %d allowed", live, p.HalfOpenProbes)
	}
	if len(c.Probes) > 0 && !(auto && c.State == HalfOpen) {
		fail("probes %v in %s", c.Probes, c.Label())
	}
	if c.ProbeSuccesses != 0 && !(auto && c.State == HalfOpen) || c.ProbeSuccesses < 0 || c.ProbeSuccesses >= p.SuccessThreshold {
		fail("ProbeSuccesses %d in %s", c.ProbeSuccesses, c.Label())
	}

	// Counters.
	switch {
	case c.State == Closed && c.OpenCount != 0:
		fail("OpenCount %d while CLOSED", c.OpenCount)
	case auto && c.State != Closed && c.OpenCount < 1:
		fail("OpenCount %d while %s", c.OpenCount, c.State)
	}
	if c.ConsecutiveFailures != 0 && !(auto && c.State == Closed) {
		fail("ConsecutiveFailures %d in %s", c.ConsecutiveFailures, c.Label())
	}
	if auto && c.State == Closed && p.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= p.ConsecutiveFailures {
		fail("ConsecutiveFailures %d reached the threshold without tripping", c.ConsecutiveFailures)
	}
	if c.Since.After(now) || c.Since.IsZero() {
		fail("Since %v", c.Since)
	}

	// Decisions.
	if dec != nil {
		switch {
		case c.Effective() == Closed:
			if !dec.Allowed || dec.Permit != "" {
				fail("CLOSED decision %+v", dec)
			}
		case dec.Allowed:
			if dec.Permit == "" || !r.Changed || c.State != HalfOpen {
				fail("allowed %+v outside a half-open grant", dec)
			}
			found := false
			for _, pr := range c.Probes {
				found = found || pr.Permit == dec.Permit && pr.Until.Equal(now.Add(p.ProbeLease))
			}
			if !found {
				fail("granted permit %q is not in the probes", dec.Permit)
			}
		default:
			if r.Changed || dec.Permit != "" {
				fail("denied decision %+v wrote or handed a permit", dec)
			}
			if c.Override == ForcedOpen && !dec.RetryAt.IsZero() {
				fail("FORCED_OPEN gave RetryAt %v", dec.RetryAt)
			}
			if c.Override == NoOverride && !dec.RetryAt.After(now) {
				fail("denied with RetryAt %v, not in the future", dec.RetryAt)
			}
		}
	}
}
