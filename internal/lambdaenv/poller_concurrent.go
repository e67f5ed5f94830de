package lambdaenv

import (
	"context"
	"sync"
)

// runConcurrent polls a standard SQS queue with up to the mapping's MaximumConcurrency invocations
// at once (DefaultConcurrency when unset), as Lambda does
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): a supervisor re-reads the
// mapping every poll interval and keeps that many pollers; a poller above the current figure stops
// after its batch, so a lowered MaximumConcurrency never cuts an invocation short.
func (p *Poller) runConcurrent(ctx context.Context) error {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		cur     mappingState
		limit   int
		running = map[int]bool{}
	)
	defer wg.Wait()
	worker := func(slot int) {
		defer func() {
			mu.Lock()
			delete(running, slot)
			p.count(func(s *PollerStats) { s.Pollers = len(running) })
			mu.Unlock()
		}()
		for ctx.Err() == nil {
			mu.Lock()
			m, stop := cur, slot >= limit
			mu.Unlock()
			if stop {
				return
			}
			p.pollOnce(ctx, m)
		}
	}
	for ctx.Err() == nil {
		m, ok := p.mapping(ctx)
		if !ok {
			continue
		}
		want := p.cfg.DefaultConcurrency
		if m.maximumConcurrency > 0 {
			want = m.maximumConcurrency
		}
		if !m.active() {
			want = 0
			p.count(func(s *PollerStats) { s.SkippedPolls++ })
		}
		mu.Lock()
		cur, limit = m, want
		for slot := range want {
			if !running[slot] {
				running[slot] = true
				wg.Go(func() { worker(slot) })
			}
		}
		p.count(func(s *PollerStats) {
			s.BatchSize, s.State, s.MaximumConcurrency, s.Pollers = m.batchSize, m.state, m.maximumConcurrency, len(running)
		})
		mu.Unlock()
		sleepCtx(ctx, p.cfg.PollInterval)
	}
	return nil
}
