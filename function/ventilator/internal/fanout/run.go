package fanout

import (
	"context"
	"sync"
)

// Run calls work for each item with at most concurrency calls at a time (at least 1), and returns
// when every call has returned. Items not yet started when ctx ends are still passed to work, which
// sees the ended context and must account for them (the ventilator returns them as failures).
func Run[T any](ctx context.Context, items []T, concurrency int, work func(ctx context.Context, i int, item T)) {
	concurrency = max(min(concurrency, len(items)), 1)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, item := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			work(ctx, i, item)
		})
	}
	wg.Wait()
}
