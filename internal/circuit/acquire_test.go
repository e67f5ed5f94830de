package circuit

import (
	"testing"
	"time"
)

func TestAcquire(t *testing.T) {
	now := t0
	lease := DefaultPolicy().ProbeLease
	forcedOpen := with(openV5, func(c *Circuit) {
		c.Override, c.RetryAt, c.Reason = ForcedOpen, time.Time{}, "FORCED_OPEN: maintenance"
	})
	forcedClosed := with(closedV5, func(c *Circuit) { c.Override, c.Reason = ForcedClosed, "FORCED_CLOSED: incident 42" })
	dueOpen := with(openV5, func(c *Circuit) { c.Since, c.RetryAt = now.Add(-31500*time.Millisecond), now })
	twoProbes := func(p *Policy) { p.HalfOpenProbes = 2 }

	tests := []struct {
		name   string
		prev   Circuit
		pol    func(*Policy)
		want   Result
		wantOK Decision
	}{
		{
			name:   "a circuit that does not exist yet allows and writes nothing",
			prev:   Circuit{ID: cid},
			want:   unchanged(Circuit{ID: cid}),
			wantOK: Decision{Allowed: true},
		},
		{
			name:   "CLOSED allows without a permit and writes nothing",
			prev:   closedV5,
			want:   unchanged(closedV5),
			wantOK: Decision{Allowed: true},
		},
		{
			name:   "OPEN before RetryAt denies and says when to retry",
			prev:   openV5,
			want:   unchanged(openV5),
			wantOK: Decision{RetryAt: openV5.RetryAt},
		},
		{
			name:   "OPEN one nanosecond before RetryAt still denies",
			prev:   with(openV5, func(c *Circuit) { c.RetryAt = now.Add(time.Nanosecond) }),
			want:   unchanged(with(openV5, func(c *Circuit) { c.RetryAt = now.Add(time.Nanosecond) })),
			wantOK: Decision{RetryAt: now.Add(time.Nanosecond)},
		},
		{
			name: "OPEN at RetryAt moves to HALF_OPEN and grants the caller the first permit",
			prev: dueOpen,
			want: written(dueOpen, with(dueOpen, func(c *Circuit) {
				c.State, c.Since, c.RetryAt, c.Reason = HalfOpen, now, time.Time{}, "open time over after 32s; probing"
				c.Probes = []Probe{{Permit: "me", Until: now.Add(lease)}}
			}), now, Transition{From: "OPEN", To: "HALF_OPEN", Reason: "open time over after 32s; probing"}),
			wantOK: Decision{Allowed: true, Permit: "me"},
		},
		{
			name: "HALF_OPEN with a free slot grants a permit without a transition",
			prev: halfOpenV5,
			pol:  twoProbes,
			want: written(halfOpenV5, with(halfOpenV5, func(c *Circuit) {
				c.Probes = []Probe{halfOpenV5.Probes[0], {Permit: "me", Until: now.Add(lease)}}
			}), now, Transition{}),
			wantOK: Decision{Allowed: true, Permit: "me"},
		},
		{
			name:   "HALF_OPEN with every probe leased denies until the first lease ends",
			prev:   halfOpenV5,
			want:   unchanged(halfOpenV5),
			wantOK: Decision{RetryAt: halfOpenV5.Probes[0].Until},
		},
		{
			name: "HALF_OPEN whose lease has expired grants a new permit in place of the dead one",
			prev: with(halfOpenV5, func(c *Circuit) { c.Probes = []Probe{{Permit: "p1", Until: now}} }),
			want: written(with(halfOpenV5, func(c *Circuit) { c.Probes = []Probe{{Permit: "p1", Until: now}} }),
				with(halfOpenV5, func(c *Circuit) { c.Probes = []Probe{{Permit: "me", Until: now.Add(lease)}} }), now, Transition{}),
			wantOK: Decision{Allowed: true, Permit: "me"},
		},
		{
			name:   "FORCED_OPEN denies and gives no retry time",
			prev:   forcedOpen,
			want:   unchanged(forcedOpen),
			wantOK: Decision{},
		},
		{
			name:   "FORCED_OPEN denies even when a stale RetryAt has passed",
			prev:   with(forcedOpen, func(c *Circuit) { c.RetryAt = now.Add(-time.Hour) }),
			want:   unchanged(with(forcedOpen, func(c *Circuit) { c.RetryAt = now.Add(-time.Hour) })),
			wantOK: Decision{},
		},
		{
			name:   "FORCED_CLOSED allows",
			prev:   forcedClosed,
			want:   unchanged(forcedClosed),
			wantOK: Decision{Allowed: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prevProbes := append([]Probe(nil), tt.prev.Probes...)
			got, dec := Acquire(tt.prev, "me", policy(tt.pol), now)
			checkResult(t, got, tt.want)
			checkDecision(t, dec, tt.wantOK)
			if !equalProbes(tt.prev.Probes, prevProbes) {
				t.Errorf("Acquire mutated prev.Probes: %v, was %v", tt.prev.Probes, prevProbes)
			}
		})
	}
}

func TestAcquireDoesNotWriteIntoPrevsSpareCapacity(t *testing.T) {
	// prev.Probes has room to grow: an append in place would write into prev's backing array, and two
	// deciders working from the same prev would hand out the same slot.
	backing := make([]Probe, 1, 4)
	backing[0] = Probe{Permit: "p1", Until: t0.Add(time.Second)}
	prev := with(halfOpenV5, func(c *Circuit) { c.Probes = backing })
	p := policy(func(p *Policy) { p.HalfOpenProbes = 3 })

	a, _ := Acquire(prev, "a", p, t0)
	b, _ := Acquire(prev, "b", p, t0)
	if got := a.Circuit.Probes[1].Permit; got != "a" {
		t.Errorf("first decision's new permit = %q, want a (overwritten by the second decision)", got)
	}
	if got := b.Circuit.Probes[1].Permit; got != "b" {
		t.Errorf("second decision's new permit = %q, want b", got)
	}
	if full := backing[:2]; full[1] != (Probe{}) {
		t.Errorf("prev's backing array was written: %v", full)
	}
}

func TestForceAndClear(t *testing.T) {
	now := t0
	forcedOpen := with(closedV5, func(c *Circuit) {
		c.Override, c.State, c.Since, c.Reason = ForcedOpen, Open, t0.Add(-time.Minute), "FORCED_OPEN: maintenance"
	})
	forcedClosed := with(closedV5, func(c *Circuit) {
		c.Override, c.Since, c.Reason = ForcedClosed, t0.Add(-time.Minute), "FORCED_CLOSED: incident 42"
	})

	tests := []struct {
		name     string
		prev     Circuit
		override Override
		reason   string
		want     Result
	}{
		{
			name: "FORCED_OPEN on a CLOSED circuit: State OPEN, no RetryAt",
			prev: with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }), override: ForcedOpen, reason: "maintenance",
			want: written(with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }), with(closedV5, func(c *Circuit) {
				c.Override, c.State, c.Since, c.Reason = ForcedOpen, Open, now, "FORCED_OPEN: maintenance"
			}), now, Transition{From: "CLOSED", To: "FORCED_OPEN", Reason: "FORCED_OPEN: maintenance"}),
		},
		{
			name: "FORCED_OPEN without a reason says who set it",
			prev: closedV5, override: ForcedOpen,
			want: written(closedV5, with(closedV5, func(c *Circuit) {
				c.Override, c.State, c.Since, c.Reason = ForcedOpen, Open, now, "FORCED_OPEN: set by operator"
			}), now, Transition{From: "CLOSED", To: "FORCED_OPEN", Reason: "FORCED_OPEN: set by operator"}),
		},
		{
			name: "FORCED_OPEN on an OPEN circuit clears RetryAt and keeps OpenCount",
			prev: openV5, override: ForcedOpen, reason: "maintenance",
			want: written(openV5, with(openV5, func(c *Circuit) {
				c.Override, c.Since, c.RetryAt, c.Reason = ForcedOpen, now, time.Time{}, "FORCED_OPEN: maintenance"
			}), now, Transition{From: "OPEN", To: "FORCED_OPEN", Reason: "FORCED_OPEN: maintenance"}),
		},
		{
			name: "FORCED_CLOSED on a HALF_OPEN circuit drops its probes and backoff",
			prev: with(halfOpenV5, func(c *Circuit) { c.ProbeSuccesses = 1 }), override: ForcedClosed, reason: "incident 42",
			want: written(with(halfOpenV5, func(c *Circuit) { c.ProbeSuccesses = 1 }), with(halfOpenV5, func(c *Circuit) {
				c.Override, c.State, c.Since, c.Reason, c.OpenCount, c.Probes = ForcedClosed, Closed, now, "FORCED_CLOSED: incident 42", 0, nil
			}), now, Transition{From: "HALF_OPEN", To: "FORCED_CLOSED", Reason: "FORCED_CLOSED: incident 42"}),
		},
		{
			name: "Force on a circuit that does not exist creates it at version 1",
			prev: Circuit{ID: cid}, override: ForcedOpen, reason: "not yet live",
			want: written(Circuit{ID: cid}, Circuit{ID: cid, Override: ForcedOpen, State: Open, Since: now, Reason: "FORCED_OPEN: not yet live"},
				now, Transition{From: "", To: "FORCED_OPEN", Reason: "FORCED_OPEN: not yet live"}),
		},
		{
			name: "forcing the same override again is a write without a transition and keeps Since",
			prev: forcedOpen, override: ForcedOpen, reason: "still maintenance",
			want: written(forcedOpen, with(forcedOpen, func(c *Circuit) { c.Reason = "FORCED_OPEN: still maintenance" }), now, Transition{}),
		},
		{
			name: "FORCED_CLOSED over FORCED_OPEN",
			prev: forcedOpen, override: ForcedClosed, reason: "false alarm",
			want: written(forcedOpen, with(forcedOpen, func(c *Circuit) {
				c.Override, c.State, c.Since, c.Reason = ForcedClosed, Closed, now, "FORCED_CLOSED: false alarm"
			}), now, Transition{From: "FORCED_OPEN", To: "FORCED_CLOSED", Reason: "FORCED_CLOSED: false alarm"}),
		},
		{
			name: "Clear of FORCED_OPEN returns to CLOSED",
			prev: with(forcedOpen, func(c *Circuit) { c.OpenCount = 4 }), override: NoOverride, reason: "done",
			want: written(with(forcedOpen, func(c *Circuit) { c.OpenCount = 4 }), with(forcedOpen, func(c *Circuit) {
				c.Override, c.State, c.Since, c.Reason = NoOverride, Closed, now, "override cleared: done"
			}), now, Transition{From: "FORCED_OPEN", To: "CLOSED", Reason: "override cleared: done"}),
		},
		{
			name: "Clear of FORCED_CLOSED returns to CLOSED with a fresh Since",
			prev: forcedClosed, override: NoOverride,
			want: written(forcedClosed, with(forcedClosed, func(c *Circuit) {
				c.Override, c.Since, c.Reason = NoOverride, now, "override cleared: set by operator"
			}), now, Transition{From: "FORCED_CLOSED", To: "CLOSED", Reason: "override cleared: set by operator"}),
		},
		{
			name: "Clear of an automatic OPEN closes it",
			prev: openV5, override: NoOverride, reason: "fixed upstream",
			want: written(openV5, with(openV5, func(c *Circuit) {
				c.State, c.Since, c.RetryAt, c.OpenCount, c.Reason = Closed, now, time.Time{}, 0, "override cleared: fixed upstream"
			}), now, Transition{From: "OPEN", To: "CLOSED", Reason: "override cleared: fixed upstream"}),
		},
		{
			name: "Clear of a CLOSED circuit is a write without a transition",
			prev: closedV5, override: NoOverride, reason: "tidy",
			want: written(closedV5, with(closedV5, func(c *Circuit) { c.Reason = "override cleared: tidy" }), now, Transition{}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prevProbes := append([]Probe(nil), tt.prev.Probes...)
			var got Result
			if tt.override == NoOverride {
				got = Clear(tt.prev, tt.reason, now)
			} else {
				got = Force(tt.prev, tt.override, tt.reason, now)
			}
			checkResult(t, got, tt.want)
			if !equalProbes(tt.prev.Probes, prevProbes) {
				t.Errorf("mutated prev.Probes: %v, was %v", tt.prev.Probes, prevProbes)
			}
		})
	}
}
