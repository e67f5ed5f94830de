package handler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
)

// The attempt rule: an outage never costs a record its attempts.
//
// A failed worker call is released at once without using up an attempt (dedup's Refused), and
// decided when the batch settles, after the controller has seen the batch and the outcomes went to
// the circuit. It is charged to its record (dedup's Charge, and the dead-letter queue at
// MAX_ATTEMPTS) only when the provider was seen working around it:
//
//   - a call of another record of the same batch succeeded after the failing call started: the
//     provider answered others while this record failed, so the failure is the record's own; or
//   - the record was alone: the only record the batch called, and nothing was left unsent. Nothing
//     else can then tell a poison record from an outage, so the circuit is the judge (below); this
//     is how a poison record that is the only traffic still reaches the dead-letter queue;
//
// and in either case the batch did not trip the ventilator, and the circuit, once told the batch's
// outcomes, is still CLOSED (not OPEN, HALF_OPEN or forced open). Everything else is not charged: a
// call refused by the circuit or the provider (never made, or turned away), a failure in a batch
// where every call failed, a failure after the last success of its batch (the provider may just
// have gone down), and every failure of a batch that tripped or opened the circuit.
//
// The price is that a lone record failing during the first calls of an outage, before the circuit
// opens, is charged; a batch of two or more records, the usual case under load, charges nothing.

// failure is a failed (not refused) worker call whose charge waits for the batch's end.
type failure struct {
	// i is the record's index in the batch; key its dedup key.
	i   int
	key string
	// reason is the call's error.
	reason string
	// started orders the call's start among the batch's call events.
	started uint64
}

// ledger notes the batch's calls in the order they start and end, which is all the rule needs.
type ledger struct {
	mu sync.Mutex
	// seq numbers call starts and ends; lastOK is the number of the latest successful end.
	seq, lastOK uint64
	called      map[string]bool
	failures    []failure
}

// start notes that a call for the record with key starts, and returns its order.
func (l *ledger) start(key string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.called == nil {
		l.called = make(map[string]bool)
	}
	l.called[key] = true
	l.seq++
	return l.seq
}

// ok notes a successful call's end.
func (l *ledger) ok() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.lastOK = l.seq
}

// failed notes a failed call, released without an attempt until the batch settles.
func (l *ledger) failed(f failure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.failures = append(l.failures, f)
}

// candidates returns the failures the provider was seen working around, and how many failures
// there were in all. alone reports whether no other record of the batch could have been called.
func (l *ledger) candidates(alone bool) (charge []failure, all int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	alone = alone && len(l.called) == 1 && l.lastOK == 0 && len(l.failures) == 1
	for _, f := range l.failures {
		if alone || l.lastOK > f.started {
			charge = append(charge, f)
		}
	}
	return charge, len(l.failures)
}

// account charges the batch's failures that were the records' own (see the attempt rule above)
// and dead-letters the records whose attempts are used up. It runs after settle; a failure it
// cannot charge (the circuit unreadable, a DynamoDB error) is left uncharged, so the record is
// retried, never dead-lettered for it.
func (r *run) account(ctx context.Context) {
	charge, all := r.acct.candidates(r.alone())
	if all == 0 {
		return
	}
	why := ""
	switch {
	case len(charge) == 0:
		why = "no other call of the batch succeeded after them"
	case r.tripped:
		why = "the batch tripped the ventilator"
	default:
		why = r.circuitDown(ctx)
	}
	if why != "" {
		r.log.InfoContext(ctx, "failed calls not counted as attempts: the provider may be down", "failed", all, "why", why)
		return
	}
	if n := all - len(charge); n > 0 {
		r.log.InfoContext(ctx, "failed calls not counted as attempts: no other call succeeded after them", "failed", n)
	}
	for _, f := range charge {
		r.charge(ctx, f)
	}
}

// alone reports whether the batch had no record but one that could be called: every other record
// was settled without a call (done, dead-lettered, claimed elsewhere) or, in a FIFO queue, waits
// behind a failed message of its group. A record left waiting for any other reason (no time left,
// a brake on the pool) means the batch could have shown the provider working, so it was not alone.
func (r *run) alone() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unsent > 0 {
		return false
	}
	failedGroups := map[string]bool{}
	for i, res := range r.results {
		if res.status == failed && r.fifo {
			failedGroups[r.recs[i].group] = true
		}
	}
	for i, res := range r.results {
		if res.status == pending && !(r.fifo && failedGroups[r.recs[i].group]) {
			return false
		}
	}
	return true
}

// circuitDown says why the circuit, told the batch's outcomes, does not vouch for the provider, or
// "" when it is CLOSED.
func (r *run) circuitDown(ctx context.Context) string {
	view, err := r.h.Breaker.State(ctx, r.h.cfg.Circuit)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return "" // nothing recorded against the circuit: nothing says the provider is down
	case err != nil:
		return "circuit unreadable: " + err.Error()
	case view.Override == ForcedOpen:
		return "circuit forced open"
	case view.State != StateClosed:
		return "circuit " + view.State
	}
	return ""
}

// charge counts f as an attempt of its record and, when that uses up MAX_ATTEMPTS, claims the
// record again and dead-letters it.
func (r *run) charge(ctx context.Context, f failure) {
	h := r.h
	rec := r.recs[f.i]
	log := r.log.With("item", rec.itemID, "key", f.key)
	n, charged, err := h.Dedup.Charge(ctx, f.key, f.reason)
	switch {
	case err != nil:
		log.WarnContext(ctx, "failed call not counted as an attempt", "error", err.Error())
		return
	case !charged:
		log.InfoContext(ctx, "failed call not counted as an attempt: the record was taken up again since")
		return
	case n < h.cfg.MaxAttempts:
		log.InfoContext(ctx, "worker call failed while others succeeded: attempt counted, record will be retried",
			"attempt", n, "error", f.reason)
		return
	}
	owner := r.owner + "#" + strconv.Itoa(f.i) + "#dlq"
	claim, err := h.Dedup.Claim(ctx, f.key, owner)
	if err != nil || claim.Verdict != dedup.Claimed {
		// Its next claim finds the attempts used up and dead-letters it then.
		log.WarnContext(ctx, "attempts used up but the record not dead-lettered yet: its next delivery does it",
			"verdict", claim.Verdict.String(), "error", fmt.Sprint(err))
		return
	}
	if claim.Attempts <= h.cfg.MaxAttempts {
		// An attempt was given back in between: not used up after all.
		if _, err := h.Dedup.Refused(ctx, f.key, owner, f.reason); err != nil {
			log.WarnContext(ctx, "record not released: it is retried once its claim expires", "error", err.Error())
		}
		return
	}
	detail := fmt.Sprintf("failed %d attempts (MAX_ATTEMPTS %d); last error: %s", claim.Attempts-1, h.cfg.MaxAttempts, f.reason)
	res := r.deadLetter(ctx, rec, f.key, owner, deadletter.ReasonMaxAttempts, detail, claim.Attempts-1)
	r.mu.Lock()
	r.results[f.i] = res
	r.mu.Unlock()
}
