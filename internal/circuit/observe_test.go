package circuit

import (
	"testing"
	"time"
)

// TestObserve drives every transition Observe can take, one case per behaviour. now is t0 throughout;
// prev circuits are at Version 5, so a trip's jitter is drawn with version 6.
func TestObserve(t *testing.T) {
	now := t0
	d1 := DefaultPolicy().OpenDurationFor(cid, 1, 6) // 28.144s: first open, written as version 6
	d2 := DefaultPolicy().OpenDurationFor(cid, 2, 6) // 59.77s: after one failed half-open
	// tripped is prev opened at now by rule reason for d.
	tripped := func(prev Circuit, openCount int, d time.Duration, reason string) Result {
		next := with(prev, func(c *Circuit) {
			c.State, c.Since, c.RetryAt, c.OpenCount, c.Reason = Open, now, now.Add(d), openCount, reason
			c.ConsecutiveFailures, c.Probes, c.ProbeSuccesses = 0, nil, 0
		})
		return written(prev, next, now, Transition{From: prev.Label(), To: "OPEN", Reason: reason})
	}
	// notConsecutive is 13 calls, 8 failed, never 3 failures in a row, ending with a success.
	f, s := failCall("status 503"), okCall(80)
	notConsecutive := []Outcome{f, f, s, f, f, s, f, f, s, f, s, f, s}
	forcedOpen := with(closedV5, func(c *Circuit) { c.Override, c.State, c.Reason = ForcedOpen, Open, "FORCED_OPEN: maintenance" })
	forcedClosed := with(openV5, func(c *Circuit) {
		c.Override, c.State, c.RetryAt, c.OpenCount, c.Reason = ForcedClosed, Closed, time.Time{}, 0, "FORCED_CLOSED: incident 42"
	})

	tests := []struct {
		name string
		prev Circuit
		obs  Observation
		pol  func(*Policy)
		want Result
	}{
		// Creation.
		{
			name: "first observation creates the circuit CLOSED at version 1",
			prev: Circuit{ID: cid},
			obs:  Observation{Outcomes: []Outcome{okCall(40)}, Window: Counts{Calls: 1}},
			want: written(Circuit{ID: cid}, Circuit{ID: cid, State: Closed, Since: now, Reason: "created by first observation"}, now, Transition{}),
		},
		{
			name: "first observation without outcomes still creates the circuit",
			prev: Circuit{ID: cid},
			want: written(Circuit{ID: cid}, Circuit{ID: cid, State: Closed, Since: now, Reason: "created by first observation"}, now, Transition{}),
		},
		{
			name: "first observation that trips creates the circuit OPEN",
			prev: Circuit{ID: cid},
			obs:  Observation{Outcomes: repeat(3, failCall("timeout")), Window: Counts{Calls: 3, Failures: 3}},
			want: written(Circuit{ID: cid}, Circuit{ID: cid, State: Open, Since: now, RetryAt: now.Add(30128 * time.Millisecond), OpenCount: 1,
				Reason: "3 consecutive failures; open for 30s"}, now, Transition{From: "CLOSED", To: "OPEN", Reason: "3 consecutive failures; open for 30s"}),
		},

		// CLOSED: what does not trip.
		{
			name: "healthy outcomes write nothing",
			prev: closedV5,
			obs:  Observation{Outcomes: repeat(20, okCall(50)), Window: Counts{Calls: 200}},
			want: unchanged(closedV5),
		},
		{
			name: "a failure is counted towards the consecutive rule",
			prev: closedV5,
			obs:  Observation{Outcomes: []Outcome{okCall(50), failCall("timeout")}, Window: Counts{Calls: 2, Failures: 1}},
			want: written(closedV5, with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 1 }), now, Transition{}),
		},
		{
			name: "a success resets the consecutive count",
			prev: with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }),
			obs:  Observation{Outcomes: []Outcome{okCall(50)}, Window: Counts{Calls: 3, Failures: 2}},
			want: written(with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }), closedV5, now, Transition{}),
		},
		{
			name: "min-calls gate: 9 failures of 9 calls do not trip by rate",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 9, Failures: 9}},
			want: unchanged(closedV5),
		},
		{
			name: "failure rate just below the threshold does not trip",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 100, Failures: 49}},
			want: unchanged(closedV5),
		},
		{
			name: "slow calls below min calls do not trip",
			prev: closedV5,
			obs:  Observation{Outcomes: repeat(9, okCall(5000)), Window: Counts{Calls: 9, Slow: 9}},
			want: unchanged(closedV5),
		},
		{
			name: "slow call rate just below the threshold does not trip",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 10, Slow: 4}},
			want: unchanged(closedV5),
		},
		{
			name: "consecutive rule set to 0 is off",
			prev: closedV5,
			pol:  func(p *Policy) { p.ConsecutiveFailures = 0 },
			obs:  Observation{Outcomes: repeat(5, failCall("timeout")), Window: Counts{Calls: 5, Failures: 5}},
			want: written(closedV5, with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 5 }), now, Transition{}),
		},

		// CLOSED → OPEN.
		{
			name: "min-calls gate: 10 failures of 10 calls trip by rate",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 10, Failures: 10}},
			want: tripped(closedV5, 1, d1, "failure rate 100% ≥ 50% over 10 calls; open for 28s"),
		},
		{
			name: "failure rate exactly at the threshold trips",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 10, Failures: 5}},
			want: tripped(closedV5, 1, d1, "failure rate 50% ≥ 50% over 10 calls; open for 28s"),
		},
		{
			name: "rate trip when failures are not consecutive",
			prev: closedV5,
			obs:  Observation{Outcomes: notConsecutive, Window: Counts{Calls: 13, Failures: 8}},
			want: tripped(closedV5, 1, d1, "failure rate 62% ≥ 50% over 13 calls; open for 28s"),
		},
		{
			name: "rate trip from the fleet's window alone",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 1000, Failures: 700}},
			want: tripped(closedV5, 1, d1, "failure rate 70% ≥ 50% over 1000 calls; open for 28s"),
		},
		{
			name: "consecutive trip with low traffic below min calls",
			prev: with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }),
			obs:  Observation{Outcomes: []Outcome{failCall("timeout")}, Window: Counts{Calls: 3, Failures: 3}},
			want: tripped(with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }), 1, d1, "3 consecutive failures; open for 28s"),
		},
		{
			name: "consecutive trip counts the whole run in the batch",
			prev: closedV5,
			obs:  Observation{Outcomes: repeat(5, failCall("timeout")), Window: Counts{Calls: 5, Failures: 5}},
			want: tripped(closedV5, 1, d1, "5 consecutive failures; open for 28s"),
		},
		{
			name: "three failures in a row inside a batch trip even when a success follows",
			prev: closedV5,
			obs:  Observation{Outcomes: []Outcome{okCall(10), f, f, f, okCall(10)}, Window: Counts{Calls: 5, Failures: 3}},
			want: tripped(closedV5, 1, d1, "3 consecutive failures; open for 28s"),
		},
		{
			// DESIGN: the consecutive rule is the low-traffic rule only. At a 25 % failure rate three
			// in a row is common; with the window at minimum calls the rates decide.
			name: "consecutive failures do not trip once the window holds minimum calls",
			prev: with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }),
			obs:  Observation{Outcomes: []Outcome{failCall("timeout")}, Window: Counts{Calls: 10, Failures: 3}},
			want: written(with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }), with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 3 }), now, Transition{}),
		},
		{
			name: "slow call rate trips with OK calls",
			prev: closedV5,
			obs:  Observation{Outcomes: repeat(6, okCall(1500)), Window: Counts{Calls: 10, Slow: 6}},
			want: tripped(closedV5, 1, d1, "slow call rate 60% ≥ 50% over 10 calls (slower than 1s); open for 28s"),
		},
		{
			name: "failure rate is reported before slow call rate",
			prev: closedV5,
			obs:  Observation{Window: Counts{Calls: 20, Failures: 11, Slow: 20}},
			want: tripped(closedV5, 1, d1, "failure rate 55% ≥ 50% over 20 calls; open for 28s"),
		},
		{
			name: "rate trip is reported before a consecutive trip",
			prev: with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }),
			obs:  Observation{Outcomes: []Outcome{f}, Window: Counts{Calls: 12, Failures: 9}},
			want: tripped(with(closedV5, func(c *Circuit) { c.ConsecutiveFailures = 2 }), 1, d1, "failure rate 75% ≥ 50% over 12 calls; open for 28s"),
		},
		{
			name: "per-policy thresholds show in the reason",
			prev: closedV5,
			pol:  func(p *Policy) { p.FailureRate, p.MinCalls, p.OpenDuration = 0.25, 4, 5*time.Second },
			obs:  Observation{Window: Counts{Calls: 4, Failures: 1}},
			want: tripped(closedV5, 1, policy(func(p *Policy) { p.OpenDuration = 5 * time.Second }).OpenDurationFor(cid, 1, 6),
				"failure rate 25% ≥ 25% over 4 calls; open for 5s"),
		},

		// Checked observations.
		{
			name: "checked success records CheckedAt and latency, clears the error",
			prev: with(closedV5, func(c *Circuit) { c.LastError, c.LastLatencyMs, c.CheckedAt = "timeout", 5000, t0.Add(-time.Minute) }),
			obs:  Observation{Outcomes: []Outcome{okCall(123)}, Checked: true},
			want: written(with(closedV5, func(c *Circuit) { c.LastError, c.LastLatencyMs, c.CheckedAt = "timeout", 5000, t0.Add(-time.Minute) }),
				with(closedV5, func(c *Circuit) { c.CheckedAt, c.LastLatencyMs = now, 123 }), now, Transition{}),
		},
		{
			name: "checked failure records its error",
			prev: closedV5,
			obs:  Observation{Outcomes: []Outcome{{Latency: 2500 * time.Millisecond, Err: "status 503"}}, Checked: true},
			want: written(closedV5, with(closedV5, func(c *Circuit) {
				c.CheckedAt, c.LastLatencyMs, c.LastError, c.ConsecutiveFailures = now, 2500, "status 503", 1
			}), now, Transition{}),
		},
		{
			name: "checked failure without a classification says failed",
			prev: closedV5,
			obs:  Observation{Outcomes: []Outcome{{Latency: 7 * time.Millisecond}}, Checked: true},
			want: written(closedV5, with(closedV5, func(c *Circuit) {
				c.CheckedAt, c.LastLatencyMs, c.LastError, c.ConsecutiveFailures = now, 7, "failed", 1
			}), now, Transition{}),
		},
		{
			name: "checked records the last of several outcomes",
			prev: closedV5,
			obs:  Observation{Outcomes: []Outcome{failCall("timeout"), okCall(9)}, Checked: true},
			want: written(closedV5, with(closedV5, func(c *Circuit) { c.CheckedAt, c.LastLatencyMs = now, 9 }), now, Transition{}),
		},
		{
			name: "checked without outcomes records nothing",
			prev: closedV5,
			obs:  Observation{Checked: true},
			want: unchanged(closedV5),
		},
		{
			name: "unchecked outcomes leave the last check result alone",
			prev: with(closedV5, func(c *Circuit) { c.CheckedAt, c.LastLatencyMs = t0.Add(-time.Minute), 33 }),
			obs:  Observation{Outcomes: []Outcome{okCall(999)}},
			want: unchanged(with(closedV5, func(c *Circuit) { c.CheckedAt, c.LastLatencyMs = t0.Add(-time.Minute), 33 })),
		},

		// OPEN.
		{
			name: "outcomes while OPEN change nothing",
			prev: openV5,
			obs: Observation{Outcomes: []Outcome{okCall(10), okCall(10), probed(okCall(10)), permitted(okCall(10), "p1"), failCall("x")},
				Window: Counts{Calls: 100, Failures: 100}},
			want: unchanged(openV5),
		},
		{
			name: "outcomes while OPEN past RetryAt change nothing: only Acquire probes",
			prev: with(openV5, func(c *Circuit) { c.RetryAt = now.Add(-time.Second) }),
			obs:  Observation{Outcomes: repeat(3, probed(okCall(10)))},
			want: unchanged(with(openV5, func(c *Circuit) { c.RetryAt = now.Add(-time.Second) })),
		},
		{
			name: "a check while OPEN records the check only",
			prev: openV5,
			obs:  Observation{Outcomes: []Outcome{probed(failCall("connection refused"))}, Checked: true},
			want: written(openV5, with(openV5, func(c *Circuit) { c.CheckedAt, c.LastLatencyMs, c.LastError = now, 20, "connection refused" }), now, Transition{}),
		},

		// HALF_OPEN.
		{
			name: "a successful probe below the success threshold is counted and frees its permit",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{permitted(okCall(30), "p1")}},
			want: written(halfOpenV5, with(halfOpenV5, func(c *Circuit) { c.ProbeSuccesses, c.Probes = 1, []Probe{} }), now, Transition{}),
		},
		{
			name: "success threshold: the second successful probe closes and resets OpenCount",
			prev: with(halfOpenV5, func(c *Circuit) { c.ProbeSuccesses, c.OpenCount = 1, 3 }),
			obs:  Observation{Outcomes: []Outcome{permitted(okCall(30), "p1")}},
			want: written(with(halfOpenV5, func(c *Circuit) { c.ProbeSuccesses, c.OpenCount = 1, 3 }),
				with(halfOpenV5, func(c *Circuit) {
					c.State, c.Since, c.Reason, c.OpenCount, c.Probes, c.ProbeSuccesses = Closed, now, "2 successful probes", 0, nil, 0
				}), now, Transition{From: "HALF_OPEN", To: "CLOSED", Reason: "2 successful probes"}),
		},
		{
			name: "success threshold 1 closes on the first probe",
			prev: halfOpenV5,
			pol:  func(p *Policy) { p.SuccessThreshold = 1 },
			obs:  Observation{Outcomes: []Outcome{permitted(okCall(30), "p1")}},
			want: written(halfOpenV5, with(halfOpenV5, func(c *Circuit) {
				c.State, c.Since, c.Reason, c.OpenCount, c.Probes = Closed, now, "1 successful probe", 0, nil
			}), now, Transition{From: "HALF_OPEN", To: "CLOSED", Reason: "1 successful probe"}),
		},
		{
			name: "the checker's active probe is a trial without a permit",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{probed(okCall(30))}},
			want: written(halfOpenV5, with(halfOpenV5, func(c *Circuit) { c.ProbeSuccesses = 1 }), now, Transition{}),
		},
		{
			name: "a failed probe re-opens with a longer open duration",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{permitted(failCall("timeout"), "p1")}},
			want: tripped(halfOpenV5, 2, d2, "probe failed (timeout); open for 1m0s"),
		},
		{
			name: "a failed probe without a classification says failed",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{probed(Outcome{Latency: ms(3)})}},
			want: tripped(halfOpenV5, 2, d2, "probe failed; open for 1m0s"),
		},
		{
			name: "a slow successful probe is a failed probe",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{permitted(okCall(1001), "p1")}},
			want: tripped(halfOpenV5, 2, d2, "probe failed (slower than 1s); open for 1m0s"),
		},
		{
			name: "a failure after a successful probe re-opens and forgets the success",
			prev: with(halfOpenV5, func(c *Circuit) { c.Probes = append(c.Probes, Probe{Permit: "p2", Until: t0.Add(time.Second)}) }),
			pol:  func(p *Policy) { p.HalfOpenProbes = 2 },
			obs:  Observation{Outcomes: []Outcome{permitted(okCall(10), "p1"), permitted(failCall("status 500"), "p2")}},
			want: tripped(with(halfOpenV5, func(c *Circuit) { c.Probes = append(c.Probes, Probe{Permit: "p2", Until: t0.Add(time.Second)}) }),
				2, d2, "probe failed (status 500); open for 1m0s"),
		},
		{
			name: "an outcome carrying an unknown permit is not a trial",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{permitted(failCall("timeout"), "someone-else")}},
			want: unchanged(halfOpenV5),
		},
		{
			name: "a late report without a permit is not a trial",
			prev: halfOpenV5,
			obs:  Observation{Outcomes: []Outcome{failCall("timeout"), okCall(1)}, Window: Counts{Calls: 50, Failures: 50}},
			want: unchanged(halfOpenV5),
		},
		{
			name: "an outcome under an expired permit is not a trial, and the dead lease is dropped",
			prev: with(halfOpenV5, func(c *Circuit) { c.Probes = []Probe{{Permit: "p1", Until: now}} }),
			obs:  Observation{Outcomes: []Outcome{permitted(failCall("timeout"), "p1")}},
			want: written(with(halfOpenV5, func(c *Circuit) { c.Probes = []Probe{{Permit: "p1", Until: now}} }),
				with(halfOpenV5, func(c *Circuit) { c.Probes = []Probe{} }), now, Transition{}),
		},

		// Overrides win.
		{
			name: "FORCED_OPEN ignores successes",
			prev: forcedOpen,
			obs:  Observation{Outcomes: []Outcome{probed(okCall(5)), permitted(okCall(5), "p1"), okCall(5)}, Window: Counts{Calls: 100}},
			want: unchanged(forcedOpen),
		},
		{
			name: "FORCED_CLOSED ignores failures",
			prev: forcedClosed,
			obs:  Observation{Outcomes: repeat(20, failCall("timeout")), Window: Counts{Calls: 20, Failures: 20, Slow: 20}},
			want: unchanged(forcedClosed),
		},
		{
			name: "an override still records the check",
			prev: forcedClosed,
			obs:  Observation{Outcomes: []Outcome{failCall("timeout")}, Window: Counts{Calls: 20, Failures: 20}, Checked: true},
			want: written(forcedClosed, with(forcedClosed, func(c *Circuit) { c.CheckedAt, c.LastLatencyMs, c.LastError = now, 20, "timeout" }), now, Transition{}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prevProbes := append([]Probe(nil), tt.prev.Probes...)
			got := Observe(tt.prev, tt.obs, policy(tt.pol), now)
			checkResult(t, got, tt.want)
			if !equalProbes(tt.prev.Probes, prevProbes) {
				t.Errorf("Observe mutated prev.Probes: %v, was %v", tt.prev.Probes, prevProbes)
			}
		})
	}
}

func equalProbes(a, b []Probe) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Permit != b[i].Permit || !a[i].Until.Equal(b[i].Until) {
			return false
		}
	}
	return true
}
