package breaker

import (
	"context"
	"errors"
	"fmt"
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
	id      string
	buckets map[int64]tally
	unsent  []store.CountsWrite
	own     []circuit.BucketCounts
	recent  circuit.Counts // this environment's settled calls of the last lag (see buffer.recent)
	permits []circuit.Outcome
	consec  int
	// bad: the buffer held a failure or a slow call (the window is marked bad); decide: the model
	// must judge the circuit after the writes; report: the report path takes it, inside an
	// invocation (see freshFor); overdue: the buckets hold calls counted slow as they passed the
	// threshold (buffer.overdue).
	bad, decide, report, overdue bool
}

// calls counts the calls of w's counter writes.
func (w work) calls() int64 { return callsIn(w.buckets, w.unsent) }

// windowCopy is the last window read of a circuit plus what this environment added since.
type windowCopy struct {
	readAt  time.Time
	buckets []circuit.BucketCounts
}

// FlushIfDue flushes when FlushInterval has passed since the last flush. A circuit whose counts
// were written less than FlushInterval ago (by either path) keeps its new ones for a later flush, and
// so does one whose counts a coming report will carry (the default model, see Invoked).
func (b *Breaker) FlushIfDue(ctx context.Context) error {
	b.mu.Lock()
	due := b.now().Sub(b.lastFlush) >= b.opt.FlushInterval
	b.mu.Unlock()
	if !due {
		return nil
	}
	return b.flush(ctx, false)
}

// Flush writes what the fleet-true flush rule asks for and lets the model decide (see the package
// doc): buffers that hold a failure or a slow call, every buffer of a circuit whose window is marked
// bad, unsettled half-open trials and owed decisions, whenever each circuit was last written
// (SHUTDOWN). What cannot be written is kept for the next flush; a write whose answer was lost is
// retried as it was, and counted once.
func (b *Breaker) Flush(ctx context.Context) error { return b.flush(ctx, true) }

// flush is Flush; unless force, circuits written less than FlushInterval ago are left for later.
func (b *Breaker) flush(ctx context.Context, force bool) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.unlock()
	now := b.now()
	b.mu.Lock()
	b.lastFlush = now
	b.countOverdue(now)
	b.mu.Unlock()
	b.refreshMarks(ctx)
	b.publish(ctx)
	todo := b.take(now, force)
	if len(todo) == 0 {
		return nil
	}
	defer b.publish(ctx) // what this flush decided goes out with it
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

// lock takes the flush semaphore, or gives up when ctx ends first.
func (b *Breaker) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	select {
	case b.flushing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush: waiting for the flush in progress: %w", ctx.Err())
	}
}

func (b *Breaker) unlock() { <-b.flushing }

// refreshMarks makes sure the cached copy of every circuit with healthy calls buffered is at most a
// cache TTL old (a read only when it is older), so a bad-window mark set elsewhere is seen.
func (b *Breaker) refreshMarks(ctx context.Context) {
	b.mu.Lock()
	var ids []string
	for id, buf := range b.pending {
		if !buf.bad && len(buf.buckets) > 0 {
			ids = append(ids, id)
		}
	}
	b.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		_, _ = b.cache.Get(ctx, id) // an unreadable circuit is judged by what is cached
	}
}

// take moves what is due for writing out of b.pending. Buckets that have left the window are let go
// unwritten, but never unjudged: a buffer that held a failure is still decided on (its run of
// failures is a run, however far apart its calls were). Unless force, the counts of a circuit
// written less than FlushInterval ago stay in its buffer (see takeOne).
func (b *Breaker) take(now time.Time, force bool) []work {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []work
	for id, buf := range b.pending {
		if w, ok := b.takeOne(id, buf, now, force, false); ok {
			out = append(out, w)
		}
	}
	// A write holds back the report of the calls that started within an interval after it, however
	// long they took: it is kept for a window (a call longer than that is not judged in it).
	for id, at := range b.written {
		if now.Sub(at) >= b.opt.Policy.Window+b.opt.FlushInterval || now.Before(at) {
			delete(b.written, id)
		}
	}
	// A window copy is read again once it is older than WindowTTL; a stale one only serves while
	// DynamoDB cannot be read, and one older than the window holds nothing in it: let those go, and
	// every stale one of a circuit with nothing pending.
	for id, wc := range b.windows {
		age := now.Sub(wc.readAt)
		if age >= b.opt.WindowTTL && (b.pending[id] == nil || age >= b.opt.Policy.Window+b.opt.WindowTTL) {
			delete(b.windows, id)
		}
	}
	return out
}

// takeOne moves what is due for writing out of circuit id's buffer; false when nothing is. Counts
// are written at most once per FlushInterval per circuit (unless force), by the report path and the
// background flusher together (one budget, b.written): within the interval they wait in the buffer;
// a run of failures that has just reached the policy's threshold is judged all the same (a trip is
// not held back), its counts waiting. The report path also holds the calls that started within the interval after the last
// write, and the background flusher leaves to the report path what a coming report will carry
// (deferred). Trials and owed decisions are not counter writes and always go. b.mu must be held.
func (b *Breaker) takeOne(id string, buf *buffer, now time.Time, force, report bool) (work, bool) {
	p := b.opt.Policy
	var c *circuit.Circuit
	if e, ok := b.cache.Peek(id); ok && e.Found {
		c = &e.Circuit
		p = b.policyFor(*c)
	}
	oldest := p.WindowBuckets(now)[0].Unix()
	for start := range buf.buckets {
		if start < oldest {
			delete(buf.buckets, start)
		}
	}
	for start := range buf.own {
		if start < oldest {
			delete(buf.own, start)
		}
	}
	buf.unsent = slices.DeleteFunc(buf.unsent, func(cw store.CountsWrite) bool { return cw.Bucket.Unix() < oldest })
	buf.recent = slices.DeleteFunc(buf.recent, func(r stamped) bool { return now.Sub(r.at) > b.opt.Lag })
	marked := c != nil && now.Before(c.BadUntil)
	owed := buf.redecide && !now.Before(buf.redecideAt)
	held := !force && (b.writtenWithin(id, now) || b.deferred(id, now))
	if report {
		held = b.reportHeld(id, buf, now)
	}
	// A run of failures that reaches the threshold is judged at once, held or not; its counts keep
	// the budget and wait in the buffer when held (the run is this environment's own, and its
	// calls reach the decision through own).
	trip := tripDue(buf, p)
	writeAll := !held && (buf.bad || (marked && len(buf.buckets) > 0))
	unsent := !held && len(buf.unsent) > 0
	if !writeAll && !unsent && len(buf.permits) == 0 && !owed && !trip {
		if len(buf.buckets) == 0 && len(buf.own) == 0 && buf.consec == 0 && !buf.redecide && len(buf.unsent) == 0 && !buf.bad {
			delete(b.pending, id)
		}
		return work{}, false
	}
	bad := buf.bad && (!held || trip)
	w := work{id: id, permits: buf.permits, bad: bad, decide: bad || owed || trip, report: report}
	if w.decide {
		w.consec = max(buf.peak, buf.consec)
		buf.peak = buf.consec
		buf.judged = buf.consec
	}
	if writeAll {
		w.buckets, w.overdue = buf.buckets, buf.overdue
		buf.buckets = map[int64]tally{}
		buf.overdue = false
	}
	if unsent {
		w.unsent = buf.unsent
		buf.unsent = nil
	}
	if writeAll || unsent {
		b.written[id] = now
		delete(b.passed, id)
	}
	b.writing.Add(w.calls())
	for start, cnt := range buf.own {
		w.own = append(w.own, circuit.BucketCounts{Start: time.Unix(start, 0).UTC(), Counts: cnt.all, Settled: cnt.settled})
	}
	for _, r := range buf.recent {
		w.recent = w.recent.Add(r.c)
	}
	if bad && !held {
		buf.bad = false
	}
	buf.permits = nil
	if owed {
		buf.redecide, buf.redecideAt = false, time.Time{}
	}
	return w, true
}

// tripDue reports whether the buffer's run of failures has reached the policy's threshold since it
// was last judged: the decision that may trip the circuit is not held back by the interval (its
// counts are, see takeOne).
func tripDue(buf *buffer, p circuit.Policy) bool {
	return p.ConsecutiveFailures > 0 && buf.consec >= p.ConsecutiveFailures && buf.judged < p.ConsecutiveFailures
}

// reportHeld reports whether the report path holds back the calls of buf's last report: they
// started less than FlushInterval after circuit id's last counter write, or that write (by a call
// reported while these were under way) is less than FlushInterval old. The first is judged on when
// the calls started, not when they were reported, so whether a call is held does not depend on how
// long it took: a slow call (one longer than SlowCall ≥ FlushInterval would always be reported past
// the interval) is held exactly when a fast one started at the same time would be, and the settled
// calls that reach the store late are a sample of the fleet's, not its fast ones. The second keeps
// the one budget; it can hold a call back only when a write came between its start and its report,
// which in the default model only another call of the same circuit under way at once can cause
// (the background flusher does not write while a call is under way, deferred). b.mu must be held.
func (b *Breaker) reportHeld(id string, buf *buffer, now time.Time) bool {
	at, ok := b.written[id]
	if !ok {
		return false
	}
	return (!buf.started.Before(at) && buf.started.Sub(at) < b.opt.FlushInterval) || b.writtenWithin(id, now)
}

// writtenWithin reports whether circuit id's counts were written less than FlushInterval before
// now. b.mu must be held.
func (b *Breaker) writtenWithin(id string, now time.Time) bool {
	at, ok := b.written[id]
	return ok && now.Sub(at) < b.opt.FlushInterval && !now.Before(at)
}

// restore puts back what a flush could not write or decide.
func (b *Breaker) restore(w work, buckets map[int64]tally, unsent []store.CountsWrite, redecideAt time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.pending[w.id]
	if buf == nil {
		buf = newBuffer()
		b.pending[w.id] = buf
	}
	for start, c := range buckets {
		buf.buckets[start] = buf.buckets[start].add(c)
	}
	buf.unsent = append(unsent, buf.unsent...) // older writes first: a bucket's writes settle in order
	if w.bad && (len(buckets) > 0 || len(unsent) > 0) {
		buf.bad = true
	}
	if w.overdue && len(buckets) > 0 {
		buf.overdue = true
	}
	if w.decide {
		buf.peak = max(buf.peak, w.consec)
	}
	if !redecideAt.IsZero() && (!buf.redecide || redecideAt.Before(buf.redecideAt)) {
		buf.redecide, buf.redecideAt = true, redecideAt
	}
}

func (b *Breaker) flushOne(ctx context.Context, w work, now time.Time) error {
	// The calls taken stop counting as under way once written, or as they are put back (before
	// restore, so that Stats never counts them twice).
	writing := w.calls()
	defer func() { b.writing.Add(-writing) }()
	settle := func() { b.writing.Add(-writing); writing = 0 }
	var errs []error
	if len(w.permits) > 0 {
		if err := b.settleTrials(ctx, w.id, w.permits, now); err != nil {
			b.keepTrials(w.id, w.permits)
			errs = append(errs, err)
		}
	}
	p := b.opt.Policy
	if e, ok := b.cache.Peek(w.id); ok && e.Found {
		p = b.policyFor(e.Circuit)
	}
	starts := slices.Sorted(maps.Keys(w.buckets))
	fresh := make([]store.CountsWrite, len(starts))
	for i, start := range starts {
		tl := w.buckets[start]
		fresh[i] = store.CountsWrite{ID: w.id, Shard: b.opt.Shard, Bucket: time.Unix(start, 0).UTC(), Counts: tl.all, Settled: tl.settled, Writer: b.opt.Writer, Seq: b.seq.Add(1)}
	}
	// A decision that will read the window reads it beside the writes, not after them: the read
	// counts these writes once whether it saw them or not (store.Circuits.ReadWindow), so a failing
	// report costs one round trip, not two.
	var read <-chan windowRead
	if w.decide && b.readDue(w.id, now, w.report) {
		read = b.readBeside(ctx, w.id, p, now, append(slices.Clip(w.unsent), fresh...))
	}
	added := make([]circuit.BucketCounts, 0, len(w.unsent)+len(fresh))
	// Writes whose answer was lost go first, unchanged: a bucket must not take a later sequence
	// number from this environment before an earlier one is settled (store.CountsWrite).
	for i, cw := range w.unsent {
		if err := b.addCounts(ctx, cw, p); err != nil {
			settle()
			b.restore(w, w.buckets, w.unsent[i:], now)
			drain(read)
			return errors.Join(append(errs, err)...)
		}
		added = append(added, circuit.BucketCounts{Start: cw.Bucket, Counts: cw.Counts, Settled: cw.Settled})
	}
	for i, cw := range fresh {
		if err := b.addCounts(ctx, cw, p); err != nil {
			rest := map[int64]tally{}
			for _, s := range starts[i+1:] {
				rest[s] = w.buckets[s]
			}
			settle()
			b.restore(w, rest, []store.CountsWrite{cw}, now)
			drain(read)
			return errors.Join(append(errs, err)...)
		}
		added = append(added, circuit.BucketCounts{Start: cw.Bucket, Counts: cw.Counts, Settled: cw.Settled})
	}
	settle() // written
	if read != nil && b.keepRead(w.id, now, <-read) {
		added = nil // the copy read beside the writes holds them
	}
	if !w.decide {
		if len(added) > 0 {
			b.window(ctx, w.id, p, added, now, time.Time{}) // keep the local copy in step, no read forced
		}
		return errors.Join(errs...)
	}
	again, err := b.decide(ctx, w, added, now)
	if err != nil {
		errs = append(errs, err)
		again = now
	}
	if !again.IsZero() {
		b.restore(work{id: w.id, consec: w.consec, decide: true}, nil, nil, again)
	}
	return errors.Join(errs...)
}

// addCounts writes one counter write, counting it in the stats.
func (b *Breaker) addCounts(ctx context.Context, cw store.CountsWrite, p circuit.Policy) error {
	if err := b.store.AddCounts(ctx, cw, p); err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn("outcome counts not written; kept for the next flush as they are", "circuit", cw.ID, "error", err.Error())
		return err
	}
	b.stats.storeWrites.Add(1)
	return nil
}

// decide runs the model on a CLOSED (or not yet existing) circuit after its counts were added, on
// the fleet-true window (circuit.Policy.FleetWindow), and writes the circuit only for a transition,
// its creation, or to set the bad-window mark. It returns when to decide again when the rates could
// not decide yet because the fleet's window has not settled (zero: no need).
func (b *Breaker) decide(ctx context.Context, w work, added []circuit.BucketCounts, now time.Time) (time.Time, error) {
	res, err := b.cache.Get(ctx, w.id)
	if err != nil || res.Stale {
		b.log.Debug("decision put off: circuit unreadable", "circuit", w.id)
		if err == nil {
			err = errors.New("circuit state is stale")
		}
		return time.Time{}, err
	}
	c := res.Circuit
	if !res.Found {
		c = circuit.Circuit{ID: w.id}
	}
	if c.Exists() && (c.Override != circuit.NoOverride || c.State != circuit.Closed) {
		return time.Time{}, nil
	}
	p := b.policyFor(c)
	window := b.window(ctx, w.id, p, added, now, b.freshFor(c, now, w.report))
	owed := b.owedFresh(w, c, now)
	var again time.Time
	judge := func(cur circuit.Circuit) circuit.Result {
		pp := b.policyFor(cur)
		x, marked := cur, false
		if w.bad {
			x, marked = pp.MarkBad(cur, now)
		}
		x.ConsecutiveFailures = w.consec
		fw := pp.FleetWindow(x, window, w.own, w.recent, b.opt.Settle, now)
		r := circuit.Observe(x, circuit.Observation{Window: fw.Window, Recent: fw.Recent}, pp, now)
		again = time.Time{}
		if r.Transition.Happened() {
			return r
		}
		// The rates may trip once more of the fleet's settled calls are known: while the window is
		// marked and what was written of it holds minimum calls at the threshold, decide again a
		// flush interval on, when the others' calls of this moment have landed. With fewer calls
		// known no rate can trip until more calls come, and those come with flushes and decisions of
		// their own.
		if all := pp.SumWindow(window, x.Since, now); x.BadUntil.After(now) && all.Calls >= pp.MinCalls && pp.AtRate(all) {
			again = now.Add(b.opt.FlushInterval)
		}
		if !cur.Exists() {
			created := circuit.Observe(cur, circuit.Observation{}, pp, now)
			created.Circuit.BadSince, created.Circuit.BadUntil = x.BadSince, x.BadUntil
			return created
		}
		if !marked {
			return circuit.Result{Circuit: cur}
		}
		next := cur
		next.BadSince, next.BadUntil = x.BadSince, x.BadUntil
		next.Version, next.UpdatedAt = cur.Version+1, now
		return circuit.Result{Circuit: next, Changed: true}
	}
	r := judge(c)
	if r.Transition.Happened() && b.readBefore(w.id, now) {
		// A trip is decided on a window read now, not on a copy up to a cache TTL old plus this
		// environment's own writes since: that copy lacks the other environments' latest calls while
		// it holds all of this one's, and would let them outweigh the fleet's.
		window = b.window(ctx, w.id, p, nil, now, now)
		r = judge(c)
	}
	if !r.Changed {
		return earliest(again, owed), nil
	}
	wr, err := b.store.Update(ctx, w.id, func(cur circuit.Circuit) (circuit.Result, error) {
		if cur.Exists() && (cur.Override != circuit.NoOverride || cur.State != circuit.Closed) {
			return circuit.Result{Circuit: cur}, nil
		}
		return judge(cur), nil
	})
	if err != nil {
		b.stats.storeErrors.Add(1)
		b.log.Warn("circuit decision not written; retried at the next flush", "circuit", w.id, "error", err.Error())
		return time.Time{}, err
	}
	b.wrote(w.id, wr)
	if wr.Transition.Happened() {
		return again, nil
	}
	return earliest(again, owed), nil
}

// readBefore reports whether the circuit's window copy was read before now (or never).
func (b *Breaker) readBefore(id string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	wc := b.windows[id]
	return wc == nil || wc.readAt.Before(now)
}

// window returns the circuit's window buckets: read from DynamoDB when the last read is older than
// WindowTTL or than fresh (once now has reached fresh), else the last read plus this environment's
// additions since.
func (b *Breaker) window(ctx context.Context, id string, p circuit.Policy, added []circuit.BucketCounts, now, fresh time.Time) []circuit.BucketCounts {
	b.mu.Lock()
	wc := b.windows[id]
	b.mu.Unlock()
	if b.copyStale(wc, now, fresh) {
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
