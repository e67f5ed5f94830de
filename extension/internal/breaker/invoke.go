package breaker

import "time"

// Invoked tells the breaker that an INVOKE has just thawed the environment (the default model; the
// lifecycle calls it before the background flusher's flush at INVOKE). From the first call on, the
// background flusher leaves a circuit's counts to the report path while a report of that circuit
// may be coming (deferred): for a flush interval after the thaw, and while a call of it allowed in
// this environment has not been reported. The counts held from the last invocation then go out with
// this invocation's first due report, in one write, rather than in a write of their own that would
// hold that report's calls back (one budget per circuit and flush interval, see takeOne). When no
// report of a circuit came in a whole invocation (a function that calls it now and then), its held
// counts are not left to the reports again: the next INVOKE's flush writes them. Calls
// allowed and never reported (a function that crashed, or acquires without reporting) stop
// counting at the next INVOKE. Lambda Managed Instances never calls it: there the background
// flusher is the only writer.
func (b *Breaker) Invoked() {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.thawedAt = now
	clear(b.calling)
	b.forgetUncounted()
	for id := range b.passed {
		if b.pending[id] == nil {
			delete(b.passed, id)
		}
	}
	for id, buf := range b.pending {
		waiting, seen := b.passed[id]
		switch {
		case len(buf.buckets) == 0 && len(buf.unsent) == 0:
			delete(b.passed, id)
		case !seen:
			b.passed[id] = true // left to this invocation's reports
		case waiting:
			b.passed[id] = false // no report of it came in a whole invocation: not deferred again
		}
	}
	b.invoked.Store(true)
}

// returned notes that n calls of circuit id were reported: a report came, so the calls an INVOKE
// left to the reports were left rightly (passed), whether this one wrote them or held them. b.mu
// must be held.
func (b *Breaker) returned(id string, n int) {
	delete(b.passed, id)
	if c, ok := b.calling[id]; ok {
		if c <= n {
			delete(b.calling, id)
		} else {
			b.calling[id] = c - n
		}
	}
}

// deferred reports whether the background flusher leaves circuit id's counts to the report path
// now: in the default model, while a call of it allowed here is not reported yet, or within a flush
// interval after the thaw (unless a whole invocation went by without a report carrying them). A
// background write while a call is under way would come between its start and its report, and
// whether that call could still go out when reported would depend on how long it took: a fast one
// would be held behind the write (and frozen with the environment), a slow one reported past the
// interval would not. b.mu must be held.
func (b *Breaker) deferred(id string, now time.Time) bool {
	if !b.invoked.Load() {
		return false
	}
	if buf := b.pending[id]; buf != nil && buf.overdue {
		return false // calls counted slow as they passed the threshold: no report of them is coming
	}
	if b.calling[id] > 0 {
		return true
	}
	if p, ok := b.passed[id]; ok && !p {
		return false // held through a whole invocation already: no grace at this one
	}
	return !now.Before(b.thawedAt) && now.Sub(b.thawedAt) < b.opt.FlushInterval
}
