package lambdaenv

import (
	"context"
	"sync"
)

// runConcurrent polls a standard SQS queue with up to the mapping's MaximumConcurrency invocations
// at once (DefaultConcurrency when unset), as Lambda does
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): a supervisor re-reads the
// mapping every poll interval and starts the pollers it allows; each poller re-reads the mapping
// itself before every poll and stops when the mapping no longer allows it, so a lowered
// MaximumConcurrency never cuts an invocation short, and a disabled mapping is never polled again
// once the disable is stored, however late the supervisor's next read comes (see Poller).
func (p *Poller) runConcurrent(ctx context.Context) error {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
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
			m, ok := p.mapping(ctx)
			if !ok {
				continue
			}
			if slot >= p.pollers(m) {
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
		want := p.pollers(m)
		if !m.active() {
			p.count(func(s *PollerStats) { s.SkippedPolls++ })
		}
		mu.Lock()
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

// pollers is the number of concurrent pollers of a standard queue that the mapping m allows: none
// while it is not active, else its MaximumConcurrency, or DefaultConcurrency when that is unset.
func (p *Poller) pollers(m mappingState) int {
	switch {
	case !m.active():
		return 0
	case m.maximumConcurrency > 0:
		return m.maximumConcurrency
	default:
		return p.cfg.DefaultConcurrency
	}
}
