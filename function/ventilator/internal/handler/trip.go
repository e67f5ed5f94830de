package handler

import (
	"context"

	"github.com/breakerbox/breakerbox/extension/client"
)

// trips reports whether a denied acquire is a trip: only an OPEN or FORCED_OPEN circuit says the
// provider is down. A HALF_OPEN denial (another caller holds the probe, as is normal right after a
// wake-up with several shards, message groups or warm environments) and an UNKNOWN circuit (nothing
// ever recorded an outcome for it; the fail mode denied) say nothing of the kind: disabling the
// mapping on them would disable and re-enable it forever.
func trips(d client.Decision) bool {
	return d.State == StateOpen || d.Override == ForcedOpen
}

// holdBack handles a denial that is not a trip: every record is returned as a batch item failure
// (retried by Lambda), and the mapping and the controller state are left as they are.
func (r *run) holdBack(ctx context.Context, g client.Decision) {
	m := r.metrics()
	m.Properties["circuitState"] = g.State
	m.Properties["reason"] = "circuit " + r.h.cfg.Circuit + " is " + g.State + ": batch held back, the mapping stays enabled"
	r.log.InfoContext(ctx, "circuit denied the batch without tripping: every record will be retried, the mapping stays enabled",
		"circuitState", g.State, "circuitReason", g.Reason)
	r.writeMetrics(ctx, m)
}
