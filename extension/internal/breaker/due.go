package breaker

import (
	"context"
	"fmt"
)

// Stake is what a circuit's buffer holds that a write is due for now (Breaker.Due).
type Stake int

const (
	// StakeNone: nothing to write now (healthy calls of a circuit whose window holds no failure,
	// or calls held back by the interval since the circuit's last counter write).
	StakeNone Stake = iota
	// StakeCounts: calls of a circuit whose window is marked bad, due to be written so the fleet's
	// rates stay true; nothing in them can change the circuit's state.
	StakeCounts
	// StakeDecision: a failure or a slow call due to be written and judged, or a run of failures
	// that has just reached the policy's threshold: the write may trip the circuit.
	StakeDecision
)

// Due says what circuit id's buffer holds that a write is due for now from the report path: the
// calls of the last report are held when they started less than FlushInterval after the circuit's
// last counter write, or that write is less than FlushInterval old (reportHeld; a run of failures
// that may trip is not held back).
func (b *Breaker) Due(id string) Stake {
	now := b.now()
	p := b.opt.Policy
	marked := false
	if e, ok := b.cache.Peek(id); ok && e.Found {
		p = b.policyFor(e.Circuit)
		marked = now.Before(e.Circuit.BadUntil)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.pending[id]
	if buf == nil {
		return StakeNone
	}
	trip := tripDue(buf, p)
	switch {
	case !trip && b.reportHeld(id, buf, now):
		return StakeNone
	case buf.bad || trip:
		return StakeDecision
	case marked && len(buf.buckets) > 0:
		return StakeCounts
	}
	return StakeNone
}

// WriteIfDue writes circuit id's buffer, and lets the model decide, when Due says a write is due,
// within ctx: the default model's report path calls it, so what a function reports is durable before
// the environment can freeze. It writes nothing, and waits for nothing, when nothing is due. What
// cannot be written (ctx ended, the store failed) is kept for the next flush.
func (b *Breaker) WriteIfDue(ctx context.Context, id string) error {
	if b.Due(id) == StakeNone {
		return nil
	}
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.unlock()
	now := b.now()
	b.mu.Lock()
	var w work
	ok := false
	if buf := b.pending[id]; buf != nil {
		w, ok = b.takeOne(id, buf, now, false, true)
	}
	b.mu.Unlock()
	if !ok {
		return nil
	}
	b.stats.flushes.Add(1)
	err := b.flushOne(ctx, w, now)
	b.publish(ctx) // a transition this write made goes out with it
	if err != nil {
		b.stats.flushErrors.Add(1)
		return fmt.Errorf("breaker: write on report: %w", err)
	}
	return nil
}
