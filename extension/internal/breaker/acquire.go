package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Unknown is the state shown for a circuit that does not exist or could not be read.
const Unknown = "UNKNOWN"

// Decision answers "may I call now?".
type Decision struct {
	Allowed bool
	// State is the circuit's automatic state, or Unknown.
	State string
	// Override is the operator's override, if any.
	Override circuit.Override
	// Permit is set when the caller holds a half-open probe permit; it reports it with the outcome.
	Permit string
	// Call names an allowed call whose outcome counts in the circuit's window: the caller reports it
	// with the outcome (Outcome.Call), and until then the call is known to be under way, so it
	// counts as slow as soon as it has run longer than the slow-call threshold (running.go).
	Call string
	// RetryAt is when a denied caller may try again (zero when unknown).
	RetryAt time.Time
	// Stale is true when the answer could not use DynamoDB (a last good copy, or the fail mode).
	Stale bool
	// Reason says why, in words.
	Reason string
}

// Acquire decides whether a call may go out now. CLOSED, OPEN before retryAt and a HALF_OPEN whose
// probe slots are all leased are answered from the cache. OPEN past retryAt and HALF_OPEN with a free
// slot ask DynamoDB for a probe permit through a conditional write, so the fleet never holds more
// permits than the policy's half-open probes. Unknown circuits follow the fail mode; asking does not
// create a circuit.
// An allowed call of a CLOSED circuit is named (Decision.Call) and kept under way until its outcome
// comes, so it counts as slow as soon as it passes the threshold.
func (b *Breaker) Acquire(ctx context.Context, id string) Decision { return b.acquire(ctx, id, true) }

// AcquireBatch is Acquire for a caller that makes a batch of calls under one answer and reports them
// together (the ventilator): no call is named, so none counts before its outcome comes. A call named
// for the batch would be counted slow once the whole batch had run past the threshold, however fast
// its calls were.
func (b *Breaker) AcquireBatch(ctx context.Context, id string) Decision {
	return b.acquire(ctx, id, false)
}

func (b *Breaker) acquire(ctx context.Context, id string, name bool) Decision {
	d := b.decideAcquire(ctx, id, false)
	if d.Allowed {
		named := name && d.Permit == "" && d.State == string(circuit.Closed) && d.Override == circuit.NoOverride
		d.Call = b.allowed(id, named)
		b.stats.allowed.Add(1)
	} else {
		b.stats.denied.Add(1)
	}
	if d.Permit != "" {
		b.stats.permits.Add(1)
	}
	return d
}

// decideAcquire answers from the cache when it can. waited is set on the second pass of a caller
// that waited for another caller's permit attempt: it then tries itself rather than wait again.
func (b *Breaker) decideAcquire(ctx context.Context, id string, waited bool) Decision {
	res, err := b.cache.Get(ctx, id)
	if err != nil {
		return Decision{Allowed: b.opt.FailOpen, State: Unknown, Stale: true, Reason: b.reasons.unavailable + ": " + store.Cause(err)}
	}
	if !res.Found {
		return Decision{Allowed: b.opt.FailOpen, State: Unknown, Stale: res.Stale, Reason: b.reasons.unknown}
	}
	c := &res.Circuit // not copied: the Result is this call's own
	base := Decision{State: string(c.State), Override: c.Override, Stale: res.Stale, Reason: c.Reason}
	switch {
	case c.Override == circuit.ForcedClosed:
		base.Allowed = true
		return base
	case c.Override == circuit.ForcedOpen:
		return base
	case c.State == circuit.Closed: // the hot path: answered without reading the clock
		base.Allowed = true
		return base
	}
	now := b.now()
	switch {
	case c.State == circuit.Open && now.Before(c.RetryAt):
		base.RetryAt = c.RetryAt
		return base
	case c.State == circuit.HalfOpen:
		if live, until := liveProbes(c, now); live >= b.policyFor(*c).HalfOpenProbes {
			base.RetryAt = until
			return base
		}
	}
	if res.Stale {
		base.Reason = "a probe permit needs DynamoDB, which cannot be read"
		return base
	}
	if waited {
		return b.takePermit(ctx, id, base, now)
	}
	// One conditional write at a time per circuit in this environment: callers arriving while one
	// is in flight wait for it and decide again from what it cached (usually: slots full, denied).
	b.mu.Lock()
	ch, busy := b.inflight[id]
	if !busy {
		ch = make(chan struct{})
		b.inflight[id] = ch
	}
	b.mu.Unlock()
	if busy {
		select {
		case <-ch:
			return b.decideAcquire(ctx, id, true)
		case <-ctx.Done():
			base.Reason = "request canceled"
			return base
		}
	}
	defer func() {
		b.mu.Lock()
		delete(b.inflight, id)
		b.mu.Unlock()
		close(ch)
	}()
	return b.takePermit(ctx, id, base, b.now())
}

// takePermit asks the store for a probe permit and caches what the conditional write settled.
func (b *Breaker) takePermit(ctx context.Context, id string, base Decision, now time.Time) Decision {
	permit := b.opt.NewPermit()
	r, dec, err := b.store.AcquireProbe(ctx, id, permit, b.opt.Policy, now)
	if err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn("probe permit not taken", "circuit", id, "error", err.Error())
		b.voidPermit(ctx, id, permit, now)
		base.Stale = true
		base.Reason = "could not take a probe permit: DynamoDB did not answer"
		if errors.Is(err, context.Canceled) {
			base.Reason = "request canceled"
		}
		return base
	}
	b.wrote(id, r)
	if !r.Circuit.Exists() {
		return Decision{Allowed: b.opt.FailOpen, State: Unknown, Reason: b.reasons.unknown}
	}
	c := r.Circuit
	out := Decision{Allowed: dec.Allowed, State: string(c.State), Override: c.Override, Permit: dec.Permit, RetryAt: dec.RetryAt, Reason: c.Reason}
	if out.Allowed && out.Permit == "" && c.State != circuit.Closed && c.Override != circuit.ForcedClosed {
		out.Allowed = false // defensive: outside CLOSED only a permit lets a call through
	}
	return out
}

// liveProbes counts c's probe leases still running at now and returns the earliest end among them.
func liveProbes(c *circuit.Circuit, now time.Time) (int, time.Time) {
	n := 0
	var first time.Time
	for _, p := range c.Probes {
		if now.Before(p.Until) {
			n++
			if first.IsZero() || p.Until.Before(first) {
				first = p.Until
			}
		}
	}
	return n, first
}

// wrote does the bookkeeping after a conditional write of circuit id: counts the write, caches the
// circuit as the write left it (it is as fresh as a read), and logs a transition.
func (b *Breaker) wrote(id string, r circuit.Result) {
	if r.Changed {
		b.stats.storeWrites.Add(1)
	}
	b.cache.Put(r.Circuit)
	if tr := r.Transition; tr.Happened() {
		b.stats.transitions.Add(1)
		b.log.Info("circuit state change", "circuit", id, "from", tr.From, "to", tr.To, "reason", tr.Reason, "version", tr.Version)
	}
	if b.opt.Events != nil && r.Changed && (r.Transition.Happened() || len(r.Circuit.Unpublished) > 0) {
		b.sendMu.Lock()
		b.toSend = append(b.toSend, sent{id: id, res: r})
		b.sendMu.Unlock()
	}
}

// voidPermitTimeout bounds the write that gives back a permit whose grant was never heard.
const voidPermitTimeout = 2 * time.Second

// voidPermit gives back a permit whose write may have landed although its answer never came (a
// timeout, a canceled request): nobody holds it, and left alone it would keep HALF_OPEN's probe
// slot for a whole lease. Releasing a permit the circuit does not hold changes nothing.
func (b *Breaker) voidPermit(ctx context.Context, id, permit string, now time.Time) {
	b.releasePermit(ctx, id, permit, now, voidPermitTimeout,
		"unheard probe permit not given back; it lapses with its lease", "probe permit whose answer was lost given back")
}

// releasePermit gives permit back to circuit id (circuit.Release) with a conditional write bounded by
// timeout and ctx's deadline (the invocation's), even if ctx was canceled: with no time left, the
// permit lapses with its lease. It logs failed when the write fails and done when it freed the slot.
func (b *Breaker) releasePermit(ctx context.Context, id, permit string, now time.Time, timeout time.Duration, failed, done string) {
	end := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), end)
	defer cancel()
	r, err := b.store.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		return circuit.Release(prev, permit, now), nil
	})
	if err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn(failed, "circuit", id, "error", err.Error())
		return
	}
	if r.Changed {
		b.log.Info(done, "circuit", id)
		b.wrote(id, r)
	}
}
