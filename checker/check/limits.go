package check

import "context"

// limits bounds the probes and the store calls in flight, separately: a target holds a probe slot
// while its request is out and a store slot while it reads or writes, so slow services cannot keep
// the results of fast ones from being written. The one overlap is a half-open trial, which takes
// its probe permit (one write) holding its probe slot, so that the permit's lease is not spent
// waiting for a slot; a store call never waits for a probe slot, so the two cannot deadlock.
type limits struct {
	probe, store chan struct{}
}

func newLimits(probes, storeCalls int) limits {
	return limits{probe: make(chan struct{}, probes), store: make(chan struct{}, storeCalls)}
}

// do runs fn holding a slot of sem, or returns ctx's error if none frees up in time.
func do(ctx context.Context, sem chan struct{}, fn func()) error {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-sem }()
	fn()
	return nil
}
