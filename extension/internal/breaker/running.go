package breaker

import (
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// A slow call is known as it passes the slow-call threshold, not when it ends: an allowed call of a
// CLOSED circuit is named (Decision.Call) and kept here, with its start, until its outcome comes back.
// Each flush counts the calls that have run past the threshold as slow calls then (countOverdue), as
// their environment would report them; the outcome that comes later adds only a failure, if it is
// one. A provider whose calls hang for 30 s is then judged a second after its calls start, not 30 s
// after, and so is the reference in `make fleet`, which counts a slow call at the same moment.

// maxRunning bounds the calls kept under way per environment: past it a call is not named, and is
// counted when its outcome comes, as before. A function that acquires and never reports leaks
// nothing: a call is let go once it is older than runningAge.
const maxRunning = 10_000

// runningAge is how long a call is kept under way: the longest a Lambda invocation runs (15
// minutes), and a minute more.
const runningAge = 16 * time.Minute

// matchSlack is how far a reported call's start (its report's time less its latency) may be from
// the start of a call under way for an outcome that came back without its name to be taken for it:
// the client times the call without the acquire's round trip, so the two differ by about that.
const matchSlack = 250 * time.Millisecond

// running is a call allowed and not reported yet.
type running struct {
	start time.Time
	// counted: the call was counted as a slow call as it passed the threshold (countOverdue), and
	// settled says whether it counted as settled (circuit.Aware at its start).
	counted, settled bool
}

// callName is the name of the call numbered n, as Acquire gives it (Decision.Call); callNumber
// reads it back (false for a name this environment never gave).
func callName(n uint64) string { return "c" + strconv.FormatUint(n, 36) }

func callNumber(name string) (uint64, bool) {
	if len(name) < 2 || name[0] != 'c' {
		return 0, false
	}
	n, err := strconv.ParseUint(name[1:], 36, 64)
	return n, err == nil
}

// allowed notes that a call of circuit id was allowed, in one lock: in the default model it counts
// among the calls whose report the background flusher waits for (calling, see Invoked), and when
// named it gets a name and is kept under way, started now, until its outcome comes. It returns the
// name, "" when the call is not named or the environment holds too many calls under way already.
// The calls are kept by number and by value, and a circuit's map outlives its last call until the
// next flush (countOverdue), so a healthy named call costs one allocation here, its name.
func (b *Breaker) allowed(id string, named bool) string {
	invoked := b.invoked.Load()
	if !invoked && !named {
		return ""
	}
	var now time.Time
	if named {
		now = b.now()
	}
	b.mu.Lock()
	if invoked {
		b.calling[id]++
	}
	if !named || b.nRunning >= maxRunning {
		b.mu.Unlock()
		return ""
	}
	n := b.callSeq.Add(1)
	calls := b.running[id]
	if calls == nil {
		calls = map[uint64]running{}
		b.running[id] = calls
	}
	calls[n] = running{start: now}
	b.nRunning++
	b.mu.Unlock()
	return callName(n)
}

// untrack takes the call an outcome reports out of the calls under way: by its name, or when it came
// back without one (or with one this environment never gave), the call of circuit id whose start is
// nearest to the outcome's (within matchSlack). false when none is known, and for a name given and no
// longer under way (reported already). b.mu must be held.
func (b *Breaker) untrack(id string, o Outcome, now time.Time) (running, bool) {
	calls := b.running[id]
	if len(calls) == 0 || o.Permit != "" {
		return running{}, false
	}
	n, ok := callNumber(o.Call)
	if _, held := calls[n]; !ok || !held {
		if ok && n <= b.callSeq.Load() {
			// A name this environment gave, no longer under way: its call was reported already
			// (a report sent twice) or let go at an INVOKE. It names no other call, and taking the
			// call under way nearest in time for it would leave that one untracked.
			return running{}, false
		}
		ok = false
		start := now.Add(-o.Latency)
		best := matchSlack + o.Latency/10
		for k, r := range calls {
			if d := r.start.Sub(start).Abs(); d <= best {
				n, best, ok = k, d, true
			}
		}
		if !ok {
			return running{}, false
		}
	}
	r := calls[n]
	delete(calls, n)
	b.nRunning--
	return r, true
}

// countOverdue counts every call under way that has run past its circuit's slow-call threshold as a
// slow call now, once, and lets go of calls older than runningAge. A call counted here is no longer
// one the background flusher waits for (Breaker.deferred): it has been reported, as slow. Only a
// CLOSED circuit (without an override) counts calls, as in Report. b.mu must be held.
func (b *Breaker) countOverdue(now time.Time) {
	for id, calls := range b.running {
		e, ok := b.cache.Peek(id)
		counts := ok && e.Found && e.Circuit.State == circuit.Closed && e.Circuit.Override == circuit.NoOverride
		p := b.opt.Policy
		if ok && e.Found {
			p = b.policyFor(e.Circuit)
		}
		var sum tally
		for n, r := range calls {
			age := now.Sub(r.start)
			if age > runningAge {
				delete(calls, n)
				b.nRunning--
				continue
			}
			if r.counted || !counts || age <= p.SlowCall {
				continue
			}
			co := circuit.Outcome{OK: true, Latency: age}
			r.counted = true
			sum.all.Record(co, p)
			if circuit.Aware(e.Circuit, e.MarkSeenAt, r.start, now) {
				r.settled = true
				sum.settled.Record(co, p)
			}
			calls[n] = r
			b.returned(id, 1)
		}
		if len(calls) == 0 {
			delete(b.running, id)
		}
		if sum.all.IsZero() {
			continue
		}
		buf := b.pending[id]
		if buf == nil {
			buf = newBuffer()
			b.pending[id] = buf
		}
		buf.bad, buf.overdue = true, true
		buf.add(p.BucketStart(now).Unix(), sum, now)
	}
}

// add tallies sum, reported at now, in bucket: written or not, own, and recent when settled.
func (p *buffer) add(bucket int64, sum tally, now time.Time) {
	p.buckets[bucket] = p.buckets[bucket].add(sum)
	p.own[bucket] = p.own[bucket].add(sum)
	if sum.settled.IsZero() {
		return
	}
	if n := len(p.recent); n > 0 && p.recent[n-1].at.Equal(now) {
		p.recent[n-1].c = p.recent[n-1].c.Add(sum.settled)
	} else {
		p.recent = append(p.recent, stamped{at: now, c: sum.settled})
	}
}

// forgetUncounted lets go of the calls under way that were not counted yet: at an INVOKE in the
// default model, they belong to an invocation that ended. Calls counted as slow are kept, so that
// the outcome that may still come adds only its failure. b.mu must be held.
func (b *Breaker) forgetUncounted() {
	for id, calls := range b.running {
		for n, r := range calls {
			if !r.counted {
				delete(calls, n)
				b.nRunning--
			}
		}
		if len(calls) == 0 {
			delete(b.running, id)
		}
	}
}
