package handler

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
)

// process runs one record through the dedup table, the worker and, if need be, the dead-letter
// queue. called reports whether the worker was invoked.
func (r *run) process(ctx context.Context, i int) (res result, called bool) {
	h := r.h
	rec := r.recs[i]
	owner := r.owner + "#" + strconv.Itoa(i)
	arrival := rec.arrival
	if arrival.IsZero() {
		arrival = h.Now()
	}
	id, badReason, badDetail := recordID(rec.data)
	if badReason != "" {
		// Keyed by the delivery id, so a replayed batch does not dead-letter the record twice.
		key := dedup.Key(h.cfg.Circuit, arrival, "delivery:"+rec.deliveryID)
		return r.rejected(ctx, rec, key, owner, badReason, badDetail), false
	}
	key := dedup.Key(h.cfg.Circuit, arrival, id)
	log := r.log.With("recordId", id, "item", rec.itemID)

	claim, err := h.Dedup.Claim(ctx, key, owner)
	if err != nil {
		log.WarnContext(ctx, "dedup claim failed: record will be retried", "error", err.Error())
		return result{status: failed, reason: "dedup unavailable"}, false
	}
	switch claim.Verdict {
	case dedup.Done:
		log.DebugContext(ctx, "record already processed today: skipped")
		return result{status: skipped, reason: "already processed"}, false
	case dedup.DeadLettered:
		return result{status: skipped, reason: "already dead-lettered"}, false
	case dedup.Busy:
		log.InfoContext(ctx, "record claimed by another ventilator: will be retried")
		return result{status: failed, reason: "claimed elsewhere"}, false
	}
	if claim.Attempts > h.cfg.MaxAttempts {
		detail := fmt.Sprintf("%d attempts, more than MAX_ATTEMPTS (%d); last error: %s", claim.Attempts-1, h.cfg.MaxAttempts, claim.LastError)
		return r.deadLetter(ctx, rec, key, owner, deadletter.ReasonMaxAttempts, detail, claim.Attempts-1), false
	}

	started := r.acct.start(key)
	cctx, cancel, bounded := r.callContext(ctx)
	sentAt := r.sent()
	out := h.Worker.Call(cctx, rec.data)
	// Cut by the fan-out's own deadline, not by the worker's timeout nor by the invocation's end.
	cut := !out.OK && bounded && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded)
	cancel()
	r.noteCall(key, out, sentAt)
	if out.OK {
		r.acct.ok()
		if lost, err := h.Dedup.Complete(ctx, key, owner); err != nil {
			// The work is done; retrying it would do it twice. A replay may, if the claim expires.
			log.ErrorContext(ctx, "record succeeded but could not be marked done", "error", err.Error())
		} else if lost {
			log.WarnContext(ctx, "record succeeded after its claim expired; marked done anyway")
		}
		return result{status: succeeded}, true
	}
	reason := out.Err.Error()
	// Released without an attempt either way: a refusal (a throttle, the provider's 429) is no
	// attempt, as in the simulator, and the controller backs off and trips if every call is refused
	// at the smallest concurrency; a failure is charged when the batch settles, only if it was the
	// record's own (see the attempt rule in attempts.go).
	if _, err := h.Dedup.Refused(ctx, key, owner, reason); err != nil {
		log.WarnContext(ctx, "failed record not released: it is retried once its claim expires", "error", err.Error())
	}
	if out.Refused {
		log.InfoContext(ctx, "worker call refused: record will be retried", "error", reason)
		return result{status: failed, reason: reason}, true
	}
	if cut {
		// The call ran StartFactor times its expected latency and met the fan-out's deadline: as
		// telling as a timeout to the controller and the circuit (reported above), but the
		// record's time ran out, not its luck. Never charged.
		log.InfoContext(ctx, "worker call cut by the fan-out's deadline: record will be retried without an attempt", "error", reason)
		return result{status: failed, reason: "cut by the fan-out's deadline"}, true
	}
	r.acct.failed(failure{i: i, key: key, reason: reason, started: started})
	log.InfoContext(ctx, "worker call failed: record will be retried", "attempts", claim.Attempts-1, "error", reason)
	return result{status: failed, reason: reason}, true
}

// rejected dead-letters a record that cannot be processed at all (not JSON, no id), once.
func (r *run) rejected(ctx context.Context, rec record, key, owner, reason, detail string) result {
	claim, err := r.h.Dedup.Claim(ctx, key, owner)
	switch {
	case err != nil:
		r.log.WarnContext(ctx, "dedup claim of a rejected record failed: will be retried", "item", rec.itemID, "error", err.Error())
		return result{status: failed, reason: "dedup unavailable"}
	case claim.Verdict == dedup.Done || claim.Verdict == dedup.DeadLettered:
		return result{status: skipped, reason: "already dead-lettered"}
	case claim.Verdict == dedup.Busy:
		return result{status: failed, reason: "claimed elsewhere"}
	}
	return r.deadLetter(ctx, rec, key, owner, reason, detail, 0)
}

// deadLetter sends the record to the dead-letter queue and marks it so. If the send fails the
// record is released and retried: it is never dropped.
func (r *run) deadLetter(ctx context.Context, rec record, key, owner, reason, detail string, attempts int) result {
	h := r.h
	l := deadletter.Letter{
		Reason: reason, Detail: detail, Circuit: h.cfg.Circuit, Key: key, Attempts: attempts,
		EventSource: rec.source, EventSourceARN: rec.eventSourceARN, ItemIdentifier: rec.itemID, At: h.Now().UTC(), Record: rec.raw,
	}
	log := r.log.With("item", rec.itemID, "key", key, "reason", reason, "detail", detail)
	if err := h.DLQ.Send(ctx, l); err != nil {
		if _, rerr := h.Dedup.Release(ctx, key, owner, "dead-letter queue: "+err.Error()); rerr != nil {
			log.WarnContext(ctx, "record not released after a failed dead-letter send", "error", rerr.Error())
		}
		log.ErrorContext(ctx, "dead-letter queue unavailable: record will be retried", "error", err.Error())
		return result{status: failed, reason: "dead-letter queue unavailable"}
	}
	if _, err := h.Dedup.MarkDeadLettered(ctx, key, owner, reason+": "+detail); err != nil {
		log.WarnContext(ctx, "record dead-lettered but not marked so: a replay may dead-letter it again", "error", err.Error())
	}
	log.WarnContext(ctx, "record sent to the dead-letter queue")
	return result{status: deadLettered, reason: reason}
}
