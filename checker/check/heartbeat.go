package check

import (
	"reflect"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// routine reports whether res, the decision on a check of prev, says nothing new: no transition and
// no change but the check's time and latency, while the last recorded check is younger than the
// heartbeat. Such a check is not written, so a healthy service costs no writes between heartbeats,
// as healthy traffic costs nothing in the extension. A failure, a recovery, any change of state or
// counters, and the first check after a heartbeat are always written.
func (h *Handler) routine(prev circuit.Circuit, res circuit.Result, now time.Time) bool {
	if h.cfg.Heartbeat <= 0 || !prev.Exists() || !res.Changed || res.Transition.Happened() {
		return false
	}
	if prev.CheckedAt.IsZero() || now.Sub(prev.CheckedAt) >= h.cfg.Heartbeat {
		return false
	}
	next := res.Circuit
	next.CheckedAt, next.LastLatencyMs, next.UpdatedAt, next.Version = prev.CheckedAt, prev.LastLatencyMs, prev.UpdatedAt, prev.Version
	return reflect.DeepEqual(next, prev)
}
