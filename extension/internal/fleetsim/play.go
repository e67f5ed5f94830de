package fleetsim

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// system is one way of deciding, fed a run's events in time order. The virtual clock is already at
// the event's time when a method is called.
type system interface {
	// invoke: an environment thaws for an invocation; tick: its flush timer fires during one;
	// done: the invocation's runtime answered, and the environment is about to freeze.
	invoke(env int)
	tick(env int)
	done(env int)
	// acquire asks whether call i may go out; report hands back its outcome (only if it went out).
	acquire(i int, c *call) bool
	report(i int, c *call)
	// pass: call i, still under way, has just run past the slow-call threshold (only if it went
	// out); a system that learns of a call only from its outcome does nothing.
	pass(i int, c *call)
	// tripped is when the system first opened the circuit (zero if it did not), and why.
	tripped() (time.Time, string)
	// io is the DynamoDB reads and writes the system made so far.
	io() (reads, writes int64)
}

type evKind int

// Kinds in the order they run when they fall on the same millisecond.
const (
	evInvoke evKind = iota
	evReport
	evAcquire
	evPass
	evTick
	evDone
)

type event struct {
	at   time.Time
	kind evKind
	env  int
	call int
	inv  int
}

// events lays out a run's events in time order; flush timers tick four times per interval during an
// invocation, as the extension's background flusher does (extension/internal/lifecycle: a flush
// falls due at most a quarter interval late), and a call longer than slowCall passes it a
// millisecond after slowCall.
func events(tr traffic, interval, slowCall time.Duration) []event {
	evs := make([]event, 0, 3*len(tr.calls)+2*len(tr.invs))
	for n, inv := range tr.invs {
		evs = append(evs, event{at: inv.start, kind: evInvoke, env: inv.env, inv: n})
		for _, i := range inv.calls {
			c := &tr.calls[i]
			evs = append(evs,
				event{at: c.at, kind: evAcquire, env: inv.env, call: i, inv: n},
				event{at: c.at.Add(c.latency), kind: evReport, env: inv.env, call: i, inv: n})
			if pass := slowCall + time.Millisecond; c.latency > pass {
				evs = append(evs, event{at: c.at.Add(pass), kind: evPass, env: inv.env, call: i, inv: n})
			}
		}
		if tick := interval / 4; tick > 0 {
			for t := inv.start.Add(tick); t.Before(inv.end); t = t.Add(tick) {
				evs = append(evs, event{at: t, kind: evTick, env: inv.env, inv: n})
			}
		}
		evs = append(evs, event{at: inv.end, kind: evDone, env: inv.env, inv: n})
	}
	slices.SortFunc(evs, func(a, b event) int { // a total order: invocation, then call, break ties
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.kind != b.kind {
			return cmp.Compare(a.kind, b.kind)
		}
		if a.inv != b.inv {
			return cmp.Compare(a.inv, b.inv)
		}
		return cmp.Compare(a.call, b.call)
	})
	return evs
}

// played is what one system did in one run.
type played struct {
	// tripped says whether the circuit opened; trip is when it first did, after the incident's
	// start, and tripDone when the invocation during which it did ended.
	tripped        bool
	trip, tripDone time.Duration
	// firstBad is when the incident's first failing (or slow) call was made, from the incident's
	// start (zero when no call went bad); a time to trip is counted from it.
	firstBad time.Duration
	// reason is the first trip's reason, as the circuit model gave it (empty for the peers).
	reason string
	// sent counts the incident's calls that went out; offered those that were asked about.
	sent, offered int
	// reads and writes over the measured span (from the incident's start); allWrites over the run.
	reads, writes, allWrites int64
	// perInterval is the most counter writes one environment made within one flush interval, over
	// the run (breakerbox only: see burster).
	perInterval int
}

// burster is a system that counts its counter writes per environment and flush interval.
type burster interface{ perInterval() int }

// play feeds the events to sys and records what it did.
func play(ctx context.Context, tr traffic, evs []event, clk *clock, sys system, start time.Time) played {
	var out played
	allowed := make([]bool, len(tr.calls))
	var r0, w0 int64
	snapped := false
	for _, ev := range evs {
		if ctx.Err() != nil {
			return out // interrupted: the caller reports it, and nothing of this run is used
		}
		clk.set(ev.at)
		if !snapped && !ev.at.Before(start) {
			r0, w0 = sys.io()
			snapped = true
		}
		switch ev.kind {
		case evInvoke:
			sys.invoke(ev.env)
		case evTick:
			sys.tick(ev.env)
		case evDone:
			sys.done(ev.env)
		case evAcquire:
			c := &tr.calls[ev.call]
			allowed[ev.call] = sys.acquire(ev.call, c)
			if c.incident {
				out.offered++
				if allowed[ev.call] {
					out.sent++
				}
			}
		case evPass:
			if allowed[ev.call] {
				sys.pass(ev.call, &tr.calls[ev.call])
			}
		case evReport:
			if allowed[ev.call] {
				sys.report(ev.call, &tr.calls[ev.call])
			}
		}
		if !out.tripped {
			if t, why := sys.tripped(); !t.IsZero() {
				out.tripped, out.trip, out.tripDone, out.reason = true, t.Sub(start), tr.invs[ev.inv].end.Sub(start), why
			}
		}
	}
	for i := range tr.calls {
		if c := &tr.calls[i]; c.incident && (c.fail || c.slow) {
			out.firstBad = c.at.Sub(start)
			break
		}
	}
	r, w := sys.io()
	out.reads, out.writes, out.allWrites = r-r0, w-w0, w
	if b, ok := sys.(burster); ok {
		out.perInterval = b.perInterval()
	}
	return out
}
