package fanout

import (
	"context"
	"sync"
)

// RunPaced calls work for each item in order, starting the next one whenever fewer than limit()
// calls are in flight: limit is asked again after every completion, so it may move while the items
// run (the ventilator's pool, whose limit the controller moves as calls complete). A limit below
// the calls in flight starts nothing until enough of them have returned. Once limit() is 0 or less
// it starts no more items; it returns when every started call has returned, with the number of
// items it started (the first ones): the caller accounts for the rest. Items started after ctx
// ended are still passed to work, which sees the ended context.
//
// Every wait is for a started call to return, so RunPaced is bounded by the calls' own bounds.
func RunPaced[T any](ctx context.Context, items []T, limit func() int, work func(ctx context.Context, i int, item T)) int {
	done := make(chan struct{}, len(items))
	inflight, started := 0, 0
	var wg sync.WaitGroup
	for i, item := range items {
		for inflight > 0 && inflight >= limit() {
			<-done
			inflight--
		}
		if limit() <= 0 {
			break
		}
		inflight++
		started++
		wg.Go(func() {
			defer func() { done <- struct{}{} }()
			work(ctx, i, item)
		})
	}
	wg.Wait()
	return started
}
