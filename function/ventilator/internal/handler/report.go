package handler

import (
	"context"

	"github.com/breakerbox/breakerbox/extension/client"
)

// report tells the extension the outcomes of the batch's calls, less the refused ones. A refusal (a
// Lambda throttle of the worker, or the provider's 429) says the fleet went past a limit, not that
// the provider is down: it is the controller's signal to back off, as in the simulator, and as a
// circuit failure it would open the circuit of a provider that only rate-limits, or blame it for
// our own worker's throttling. A provider that refuses every call even at the smallest concurrency
// still stops the ventilator: the controller counts refusals as errors, and its trip rule trips on
// every call failing at the floor.
func (r *run) report(ctx context.Context) {
	outcomes := make([]client.Outcome, 0, len(r.calls))
	for _, c := range r.calls {
		if c.Refused {
			continue
		}
		o := client.Outcome{OK: c.OK, Latency: c.Latency, Permit: r.probe}
		if !c.OK {
			o.Err = "worker call failed"
		}
		outcomes = append(outcomes, o)
	}
	if len(outcomes) == 0 {
		// A refused probe is not a trial: its permit lapses with its lease.
		return
	}
	if err := r.h.Breaker.Report(ctx, r.h.cfg.Circuit, outcomes...); err != nil {
		r.log.WarnContext(ctx, "reporting outcomes to the extension failed", "error", err.Error())
	}
}
