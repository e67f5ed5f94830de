package server

import (
	"context"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
)

// afterReport makes what a report put at stake durable before the function can answer, when
// Options.WriteOnReport is set (the default model: the environment may freeze as soon as the
// function answers, and the extension adds nothing after that answer).
//
//   - A failure, a slow call or a run of failures that may trip the circuit, due for a write (at
//     most one per circuit per flush interval with the background flusher's, and not for calls
//     that started within the interval after the last one; a run reaching the threshold is judged
//     at once): written and judged here, within
//     the request's context (the invocation's deadline less a margin, and the store's timeout).
//     The function waits for one store write, on a call that failed anyway.
//   - Calls of a circuit whose window is marked bad (healthy ones included), due for a write: the
//     write starts here and the answer does not wait for it, so a slow or throttled store never
//     slows a healthy call; it usually lands before the freeze, and is otherwise retried (counted
//     once) at the next flush after the thaw.
//   - Anything else (healthy calls of a healthy circuit, or not due yet): buffered only, for the
//     next due point (the background flusher while thawed, the next INVOKE, SHUTDOWN).
//
// A write that ends with ctx (deadline) or fails keeps its counts for the next flush.
func (a *api) afterReport(ctx context.Context, id string) {
	if !a.writeOnReport {
		return
	}
	switch a.svc.Due(id) {
	case breaker.StakeDecision:
		if err := a.svc.WriteIfDue(ctx, id); err != nil {
			a.log.Warn("outcomes not written before the answer; kept for the next flush", "circuit", id, "error", err.Error())
		}
	case breaker.StakeCounts:
		if !a.countsWriting.CompareAndSwap(false, true) {
			return // one is in flight; these wait for the next due point
		}
		wctx, cancel := context.WithoutCancel(ctx), func() {}
		if a.bound != nil {
			wctx, cancel = a.bound(wctx)
		}
		go func() {
			defer a.countsWriting.Store(false)
			defer cancel()
			if err := a.svc.WriteIfDue(wctx, id); err != nil {
				a.log.Warn("calls of a marked circuit not written; kept for the next flush", "circuit", id, "error", err.Error())
			}
		}()
	}
}
