package breaker

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// flushParallel bounds how many circuits one flush works on at once.
const flushParallel = 8

// work is one circuit's share of a flush.
type work struct {
	id       string
	buckets  map[int64]circuit.Counts
	permits  []circuit.Outcome
	consec   int
	redecide bool
}

// windowCopy is the last window read of a circuit plus what this environment added since.
type windowCopy struct {
	readAt  time.Time
	buckets []circuit.BucketCounts
}

// FlushIfDue flushes when FlushInterval has passed since the last flush.
func (b *Breaker) FlushIfDue(ctx context.Context) error {
	b.mu.Lock()
	due := b.now().Sub(b.lastFlush) >= b.opt.FlushInterval
	b.mu.Unlock()
	if !due {
		return nil
	}
	return b.Flush(ctx)
}

// Flush writes the buffers that hold a failure or a slow call (and any unsettled half-open trial),
// then lets the model decide on each such circuit. What cannot be written is kept for the next flush.
func (b *Breaker) Flush(ctx context.Context) error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	now := b.now()
	b.mu.Lock()
	b.lastFlush = now
	b.mu.Unlock()
	todo := b.take(now)
	if len(todo) == 0 {
		return nil
	}
	b.stats.flushes.Add(1)
	var g errgroup.Group
	g.SetLimit(flushParallel)
	errs := make([]error, len(todo))
	for i, w := range todo {
		g.Go(func() error { errs[i] = b.flushOne(ctx, w, now); return nil })
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		b.stats.flushErrors.Add(1)
		return err
	}
	return nil
}

// take moves the buffers due for writing out of b.pending, and forgets buckets that have left the
// window unwritten (healthy traffic costs nothing).
func (b *Breaker) take(now time.Time) []work {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []work
	for id, buf := range b.pending {
		oldest := b.opt.Policy.BucketStart(now).Add(-b.opt.Policy.Window).Unix()
		if e, ok := b.cache.Peek(id); ok && e.Found {
			p := b.policyFor(e.Circuit)
			oldest = p.BucketStart(now).Add(-p.Window).Unix()
		}
		for start := range buf.buckets {
			if start <= oldest {
				delete(buf.buckets, start)
			}
		}
		if !buf.bad && len(buf.permits) == 0 && !buf.redecide {
			if len(buf.buckets) == 0 && buf.consec == 0 {
				delete(b.pending, id)
			}
			continue
		}
		w := work{id: id, permits: buf.permits, redecide: buf.redecide}
		if buf.bad || buf.redecide {
			w.consec = max(buf.peak, buf.consec)
			buf.peak = buf.consec
		}
		if buf.bad {
			w.buckets = buf.buckets
			buf.buckets = map[int64]circuit.Counts{}
		}
		buf.bad, buf.permits, buf.redecide = false, nil, false
		out = append(out, w)
	}
	return out
}

// restore puts back what a flush could not write.
func (b *Breaker) restore(w work, buckets map[int64]circuit.Counts, redecide bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.pending[w.id]
	if buf == nil {
		buf = &buffer{buckets: map[int64]circuit.Counts{}}
		b.pending[w.id] = buf
	}
	for start, c := range buckets {
		buf.buckets[start] = buf.buckets[start].Add(c)
		buf.bad = true
	}
	buf.peak = max(buf.peak, w.consec)
	buf.redecide = buf.redecide || redecide
}

func (b *Breaker) flushOne(ctx context.Context, w work, now time.Time) error {
	var errs []error
	if len(w.permits) > 0 {
		if err := b.settleTrials(ctx, w.id, w.permits, now); err != nil {
			b.keepTrials(w.id, w.permits)
			errs = append(errs, err)
		}
	}
	if len(w.buckets) == 0 && !w.redecide {
		return errors.Join(errs...)
	}
	p := b.opt.Policy
	if e, ok := b.cache.Peek(w.id); ok && e.Found {
		p = b.policyFor(e.Circuit)
	}
	starts := slices.Sorted(maps.Keys(w.buckets))
	added := make([]circuit.BucketCounts, 0, len(starts))
	for i, start := range starts {
		at := time.Unix(start, 0).UTC()
		cw := store.CountsWrite{ID: w.id, Shard: b.opt.Shard, Bucket: at, Counts: w.buckets[start], Writer: b.opt.Writer, Seq: b.seq.Add(1)}
		if err := b.store.AddCounts(ctx, cw, p); err != nil {
			b.stats.storeErrors.Add(1)
			b.log.Warn("outcome counts not written; kept for the next flush", "circuit", w.id, "error", err.Error())
			rest := map[int64]circuit.Counts{}
			for _, s := range starts[i:] {
				rest[s] = w.buckets[s]
			}
			b.restore(w, rest, false)
			return errors.Join(append(errs, err)...)
		}
		b.stats.storeWrites.Add(1)
		added = append(added, circuit.BucketCounts{Start: at, Counts: w.buckets[start]})
	}
	if err := b.decide(ctx, w.id, added, w.consec, now); err != nil {
		b.restore(w, nil, true)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// decide runs the model on a CLOSED (or not yet existing) circuit after its counts were added, and
// writes the circuit only for a transition or its creation.
func (b *Breaker) decide(ctx context.Context, id string, added []circuit.BucketCounts, consec int, now time.Time) error {
	res, err := b.cache.Get(ctx, id)
	if err != nil || res.Stale {
		b.log.Debug("decision put off: circuit unreadable", "circuit", id)
		if err == nil {
			err = errors.New("circuit state is stale")
		}
		return err
	}
	c := res.Circuit
	if !res.Found {
		c = circuit.Circuit{ID: id}
	}
	if c.Exists() && (c.Override != circuit.NoOverride || c.State != circuit.Closed) {
		return nil
	}
	p := b.policyFor(c)
	window := b.window(ctx, id, p, added, now)
	prev := c
	prev.ConsecutiveFailures = consec
	r := circuit.Observe(prev, circuit.Observation{Window: p.SumWindow(window, c.Since, now)}, p, now)
	if c.Exists() && !r.Transition.Happened() {
		return nil
	}
	wr, err := b.store.Update(ctx, id, func(cur circuit.Circuit) (circuit.Result, error) {
		if cur.Exists() && (cur.Override != circuit.NoOverride || cur.State != circuit.Closed) {
			return circuit.Result{Circuit: cur}, nil
		}
		pp := b.policyFor(cur)
		x := cur
		x.ConsecutiveFailures = consec
		rr := circuit.Observe(x, circuit.Observation{Window: pp.SumWindow(window, cur.Since, now)}, pp, now)
		if !rr.Transition.Happened() {
			if cur.Exists() {
				return circuit.Result{Circuit: cur}, nil
			}
			rr.Circuit.ConsecutiveFailures = 0 // created: this environment's run is not the fleet's
		}
		return rr, nil
	})
	if err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn("circuit decision not written; retried at the next flush", "circuit", id, "error", err.Error())
		return err
	}
	b.wrote(id, wr)
	return nil
}

// window returns the circuit's window buckets: read from DynamoDB when the last read is older than
// WindowTTL, else the last read plus this environment's additions since.
func (b *Breaker) window(ctx context.Context, id string, p circuit.Policy, added []circuit.BucketCounts, now time.Time) []circuit.BucketCounts {
	b.mu.Lock()
	wc := b.windows[id]
	b.mu.Unlock()
	if wc == nil || now.Sub(wc.readAt) >= b.opt.WindowTTL || now.Before(wc.readAt) {
		b.stats.windowReads.Add(1)
		bs, err := b.store.ReadWindow(ctx, id, b.opt.Shards, p, now)
		if err == nil {
			b.mu.Lock()
			b.windows[id] = &windowCopy{readAt: now, buckets: bs}
			b.mu.Unlock()
			return bs
		}
		b.stats.storeErrors.Add(1)
		b.log.Warn("window not read; deciding from what this environment knows", "circuit", id, "error", err.Error())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if wc = b.windows[id]; wc == nil {
		return added
	}
	next := &windowCopy{readAt: wc.readAt, buckets: append(slices.Clip(wc.buckets), added...)}
	b.windows[id] = next
	return next.buckets
}
