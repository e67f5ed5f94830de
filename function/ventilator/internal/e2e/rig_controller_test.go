package e2e

import (
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
)

// settledController waits until the shared controller state and the metrics agree that every
// batch with calls wrote the state once (the step policy adds 1 to the concurrency per batch, from
// base), and returns the state and the number of such batches it ended on. Either side may lag the
// other for a while: a batch writes the state before its metrics line, which may still be in its
// sandbox's output pipe after the invoke returned, and an invoke may still be running when the queue
// looks drained. A lost update leaves the version behind the batches for good, and a doubled one
// ahead: then the wait runs out and the caller's check fails on the last pair read.
func (r *rig) settledController(base int) (controlstate.Snapshot, int) {
	r.t.Helper()
	count := func() int {
		n := 0
		for _, m := range r.metrics() {
			if _, calls := m["LatencyP50"]; calls {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(patience)
	for {
		batches := count()
		snap := r.controller()
		if (snap.Version == int64(batches) && snap.State.Concurrency == base+batches) || time.Now().After(deadline) {
			return snap, batches
		}
		time.Sleep(100 * time.Millisecond)
	}
}
