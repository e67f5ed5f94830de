package lifecycle

import (
	"context"
	"sync/atomic"
	"time"
)

// Margin is kept free before an invocation's deadline by every wait and write the extension makes
// inside the invocation: the function needs it to answer after its last report.
const Margin = 100 * time.Millisecond

// Deadline holds the deadline of the invocation in progress (default model), set from each INVOKE
// event's deadlineMs. The zero value holds none (Lambda Managed Instances, or before the first
// INVOKE). It is safe for concurrent use.
type Deadline struct {
	ms atomic.Int64 // unix milliseconds; 0: none
}

// Set records the deadline of the invocation that has just started (zero: none).
func (d *Deadline) Set(t time.Time) {
	if t.IsZero() {
		d.ms.Store(0)
		return
	}
	d.ms.Store(t.UnixMilli())
}

// Get returns the recorded deadline (zero: none).
func (d *Deadline) Get() time.Time {
	if ms := d.ms.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// Bound returns ctx bounded by the current invocation's deadline less Margin while that deadline
// is ahead (already over when less than Margin is left). Once the deadline has passed, or with
// none recorded, no invocation is in progress and ctx is returned as it is (each store call keeps
// its own timeout).
func (d *Deadline) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d == nil {
		return ctx, func() {}
	}
	end := d.Get()
	if end.IsZero() || !time.Now().Before(end) {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, end.Add(-Margin))
}
