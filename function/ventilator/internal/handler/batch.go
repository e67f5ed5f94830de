package handler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/emf"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// run is one batch in progress.
type run struct {
	h     *Handler
	recs  []record
	log   *slog.Logger
	uuid  string
	owner string
	fifo  bool
	probe string // the half-open permit, when the batch is a probe
	// size is the batch size the mapping runs at, as stored: the metrics' batch size until a
	// decision.
	size int
	// fleet is this batch's share of the fleet's concurrency.
	fleet share
	// startBy is the last moment a record may start while no latency is known: later, its call
	// might not finish before the fan-out's deadline (see fits). fanOutBy is that deadline: the
	// function's, less the settle reserve.
	startBy, fanOutBy time.Time
	// started and finished bound the fan-out; unsent counts the records not started for lack of
	// time, or because the controller tripped within the batch.
	started, finished time.Time
	unsent            int

	mu      sync.Mutex
	results []result
	calls   []adaptive.Result
	// acct orders the calls for the attempt rule; tripped is set when the batch tripped.
	acct    ledger
	tripped bool
	// pool is the admission control: its limit moves as calls complete (adaptive.Pool);
	// inflight counts the records being processed.
	pool     *adaptive.Pool
	inflight int
}

// result is what became of one record.
type result struct {
	status status
	reason string
}

type status int

const (
	pending   status = iota // not processed: returned as a failure
	succeeded               // the worker succeeded
	skipped                 // already done or dead-lettered today
	failed                  // failed: returned as a failure, retried later
	deadLettered
)

// retried reports whether the record goes back to Lambda as a batch item failure.
func (s status) retried() bool { return s == pending || s == failed }

func (h *Handler) batch(ctx context.Context, recs []record) Response {
	if len(recs) == 0 {
		return Response{BatchItemFailures: []ItemFailure{}}
	}
	r := &run{h: h, recs: recs, results: make([]result, len(recs)), owner: requestID(ctx), log: h.Log.With("records", len(recs))}
	r.fifo = recs[0].source == sourceSQS && recs[0].group != ""
	uuid, err := h.Mapping.UUID(ctx)
	if err != nil {
		r.log.ErrorContext(ctx, "event source mapping not found: every record will be retried", "error", err.Error())
		return r.response()
	}
	r.uuid = uuid
	r.log = r.log.With("mapping", uuid)

	snap, err := h.State.Get(ctx, uuid)
	if err != nil {
		r.log.WarnContext(ctx, "controller state unreadable: running at the initial batch size", "error", err.Error())
		snap = controlstate.Snapshot{}
	}
	st := snap.State
	if st.Policy == "" && st.BatchSize == 0 && st.Concurrency == 0 {
		st = h.Controller.Initial(h.Now())
	}
	r.size = min(max(st.BatchSize, h.cfg.Adaptive.MinBatch), h.cfg.Adaptive.MaxBatch)
	r.fleet = h.shareOf(ctx, r, st)
	r.log = r.log.With("concurrency", r.fleet.concurrency, "pool", r.fleet.pool, "pollers", r.fleet.pollers)
	if snap.State.Tripped {
		r.keepDisabled(ctx)
		return r.response()
	}
	grant, err := h.Breaker.AcquireBatch(ctx, h.cfg.Circuit)
	switch {
	case err != nil && !grant.Allowed:
		// No answer from the circuit, and the fail mode is closed: hold back, but this is no
		// circuit decision, so the mapping stays as it is.
		r.log.ErrorContext(ctx, "extension gave no answer and the fail mode is closed: every record will be retried", "error", err.Error())
		return r.response()
	case err != nil:
		r.log.WarnContext(ctx, "extension gave no answer: the fail mode is open, fanning out", "error", err.Error())
	case !grant.Allowed && trips(grant):
		r.stop(ctx, snap, grant)
		return r.response()
	case !grant.Allowed:
		r.holdBack(ctx, grant)
		return r.response()
	}
	r.probe = grant.Permit
	fctx := ctx
	if r.fanOutBy, r.startBy = r.deadline(ctx); !r.fanOutBy.IsZero() {
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, r.fanOutBy)
		defer cancel()
	}
	var budget adaptive.Batch
	if now := time.Now(); !r.fanOutBy.IsZero() && r.startBy.After(now) {
		budget.Budget, budget.StartBudget = r.fanOutBy.Sub(now), r.startBy.Sub(now)
	}
	r.pool = r.fleet.newPool(h.Controller, st, h.cfg.Adaptive, budget)
	r.fanOut(fctx)
	r.settle(ctx, snap)
	r.account(ctx)
	return r.response()
}

// requestID is the invoke's request id, which makes dedup claim owners unique.
func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return fmt.Sprintf("local-%d", time.Now().UnixNano())
}

// reportTimeout bounds the report of the outcomes to the extension (the client's own bound).
const reportTimeout = client.DefaultTimeout

// settleReserve is the time kept after the fan-out for the settle step: the report to the
// extension, the controller's state write and the mapping update, each bounded by its timeout.
func (h *Handler) settleReserve() time.Duration {
	return reportTimeout + 2*h.cfg.AWSTimeout
}

// deadline returns the fan-out's deadline (the function's, less the settle reserve) and the last
// moment a record may start (that, less one worker call and two AWS calls: the dedup writes around
// it). Without a deadline there is no limit. Deadlines are wall-clock times, so they are compared
// with time.Now, not the handler's clock.
func (r *run) deadline(ctx context.Context) (fanOutBy, startBy time.Time) {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Time{}, time.Time{}
	}
	fanOutBy = d.Add(-r.h.settleReserve())
	startBy = fanOutBy.Add(-(r.h.cfg.InvokeTimeout + 2*r.h.cfg.AWSTimeout))
	if time.Now().After(startBy) {
		r.log.ErrorContext(ctx, "the function timeout is too short for one worker call and the settle step: set it above INVOKE_TIMEOUT + 4 × AWS_CALL_TIMEOUT + 2s; records start only when twice the latest latency fits, the others will be retried",
			"remaining", time.Until(d).String(), "invokeTimeout", r.h.cfg.InvokeTimeout.String(), "awsCallTimeout", r.h.cfg.AWSTimeout.String())
	}
	return fanOutBy, startBy
}

// fits reports whether a record may start at now: its dedup claim, then its worker call, expected
// to take adaptive.StartFactor times the latest latency (its INVOKE_TIMEOUT while none is known),
// then its dedup write, must all end before the fan-out's deadline. So a slow provider's pool stays
// busy until near the deadline, not one INVOKE_TIMEOUT before it; a call that runs past its
// expectation is cut at callBy (see process).
func (r *run) fits(now time.Time) bool {
	if r.fanOutBy.IsZero() {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pool.Fits(now.Add(r.h.cfg.AWSTimeout), r.callBy(), r.h.cfg.InvokeTimeout)
}

// callBy is the moment by which every worker call must be over: the fan-out's deadline less one
// AWS call, the dedup write after it. Zero without a deadline.
func (r *run) callBy() time.Time {
	if r.fanOutBy.IsZero() {
		return time.Time{}
	}
	return r.fanOutBy.Add(-r.h.cfg.AWSTimeout)
}

// callContext bounds a worker call starting now by callBy when that comes before its own
// INVOKE_TIMEOUT: cut reports whether the bound is the fan-out's deadline.
func (r *run) callContext(ctx context.Context) (cctx context.Context, cancel context.CancelFunc, cut bool) {
	by := r.callBy()
	if by.IsZero() || adaptive.CallTimeout(time.Now(), by, r.h.cfg.InvokeTimeout) >= r.h.cfg.InvokeTimeout {
		return ctx, func() {}, false
	}
	cctx, cancel = context.WithDeadline(ctx, by)
	return cctx, cancel, true
}

// lanes groups the records' indexes into sequences that run in order: one per SQS FIFO message
// group, one per record otherwise; a probe is a single sequence of every record, newest first
// (the oldest is the likeliest to be a poison record that failed before, and a probe that fails
// opens the circuit again), but in order on a FIFO queue.
func (r *run) lanes() [][]int {
	if r.probe != "" {
		all := make([]int, len(r.recs))
		for i := range all {
			all[i] = len(all) - 1 - i
			if r.fifo {
				all[i] = i
			}
		}
		return [][]int{all}
	}
	var lanes [][]int
	if !r.fifo {
		for i := range r.recs {
			lanes = append(lanes, []int{i})
		}
		return lanes
	}
	byGroup := map[string]int{}
	for i, rec := range r.recs {
		n, ok := byGroup[rec.group]
		if !ok {
			n = len(lanes)
			byGroup[rec.group] = n
			lanes = append(lanes, nil)
		}
		lanes[n] = append(lanes[n], i)
	}
	return lanes
}

// limit is how many lanes may run at once: the pool's limit, which moves as calls complete and
// as the calls in flight age (0 once the controller tripped within the batch), or 1 for a probe.
func (r *run) limit() int {
	now := r.h.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probe != "" {
		return 1
	}
	if r.pool.Age(now) {
		r.log.Debug("pool limit moved: calls in flight past the baseline", "to", r.pool.Limit())
	}
	return r.pool.Limit()
}

// fanOut processes the records, as many lanes at once as the pool allows.
func (r *run) fanOut(ctx context.Context) {
	r.started = time.Now()
	defer func() { r.finished = time.Now() }()
	lanes := r.lanes()
	n := fanout.RunPaced(ctx, lanes, r.limit, func(ctx context.Context, _ int, lane []int) {
		for n, i := range lane {
			if ctx.Err() != nil || !r.fits(time.Now()) || r.limit() <= 0 {
				r.mu.Lock()
				r.unsent += len(lane) - n
				r.mu.Unlock()
				return // the rest stay pending: retried
			}
			r.mu.Lock()
			r.inflight++
			r.pool.Start(r.inflight)
			r.mu.Unlock()
			res, called := r.process(ctx, i)
			r.mu.Lock()
			r.inflight--
			r.results[i] = res
			r.mu.Unlock()
			if res.status.retried() && r.fifo {
				return // later messages of the group must not overtake this one
			}
			if called && r.probe != "" {
				return // a probe is one call
			}
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, lane := range lanes[n:] {
		r.unsent += len(lane) // not started: the controller tripped within the batch
	}
}

// sent notes that a worker call starts now, after the record's dedup claim, and returns when: the
// pool reads the ages of the calls in flight (its age brake, adaptive.Pool.Done), and the call's
// outcome names it by that time (noteCall).
func (r *run) sent() time.Time {
	now := r.h.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pool.Sent(now)
	return now
}

// noteCall notes the outcome of the worker call for the record with the given dedup key, sent at
// sentAt (what sent returned). The pool folds it in at once, so the limit moves before the next
// record starts.
func (r *run) noteCall(key string, o fanout.Outcome, sentAt time.Time) {
	now := r.h.Now()
	res := adaptive.Result{OK: o.OK, Refused: o.Refused, Latency: o.Latency, Key: key}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, res)
	before := r.pool.Limit()
	if r.pool.Done(res, sentAt, now) && r.probe == "" {
		r.log.Debug("pool limit moved", "from", before, "to", r.pool.Limit(), "latency", o.Latency.String(), "ok", o.OK)
	}
}

// settle reports the calls, folds them into the controller state, applies the decision to the
// mapping and writes the metrics.
func (r *run) settle(ctx context.Context, snap controlstate.Snapshot) {
	h := r.h
	m := r.metrics()
	m.Calls = len(r.calls)
	if len(r.calls) == 0 {
		r.log.InfoContext(ctx, "batch done without worker calls", "failures", r.failures())
		r.writeMetrics(ctx, m)
		return
	}
	latencies := make([]time.Duration, len(r.calls))
	for i, c := range r.calls {
		latencies[i] = c.Latency
	}
	r.report(ctx)
	summary := adaptive.Summarize(r.calls, h.cfg.Adaptive.SlowCall)
	summary.Pool, summary.Pollers, summary.Unsent = r.fleet.pool, r.fleet.pollers, r.unsent
	if !r.started.IsZero() && r.finished.After(r.started) {
		summary.Elapsed = r.finished.Sub(r.started)
	}
	m.LatencyP50, m.LatencyP99 = adaptive.Percentile(latencies, 50), adaptive.Percentile(latencies, 99)
	m.ErrorRate = summary.ErrorRatio()

	// The controller's decisions within the batch (every round of calls under pace, the whole
	// batch otherwise), replayed onto the stored state under the conditional write: the same
	// result unless another ventilator wrote meanwhile.
	now := h.Now()
	r.mu.Lock()
	r.pool.Settle(r.unsent, summary.Elapsed, now)
	decisions := r.pool.Decisions()
	r.mu.Unlock()
	ch, err := h.State.UpdateFrom(ctx, r.uuid, snap, func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return r.pool.Apply(prev)
	})
	if err != nil {
		r.log.ErrorContext(ctx, "controller state not updated: batch size unchanged", "error", err.Error())
		r.writeMetrics(ctx, m)
		return
	}
	d := ch.Decision
	r.tripped = d.Trip
	m.BatchSize, m.Concurrency, m.Tripped = d.BatchSize, d.Concurrency, d.Trip
	m.Properties["reason"] = d.Reason
	want := h.want(d)
	if d.Trip {
		want.Enabled = mapping.Disable
	}
	changed := d.Trip || d.BatchSize != ch.Prev.BatchSize || d.Concurrency != ch.Prev.Concurrency
	a, err := h.Mapping.Apply(ctx, want, changed)
	level := slog.LevelInfo
	if d.Trip {
		level = slog.LevelWarn
	}
	attrs := []any{"calls", summary.Calls, "errors", summary.Errors, "slow", summary.Slow, "failures", r.failures(),
		"batchSize", d.BatchSize, "previousBatchSize", ch.Prev.BatchSize, "nextConcurrency", d.Concurrency,
		"previousConcurrency", ch.Prev.Concurrency, "unsent", r.unsent, "trip", d.Trip, "reason", d.Reason,
		"mappingChanged", a.Changed, "stateAttempts", ch.Attempts, "decisions", decisions}
	if a.Clamped {
		attrs = append(attrs, "clampedTo", a.After.BatchSize)
	}
	if d.Trip && ch.Next.WakeAt != 0 {
		// The controller's own trip: the ventilator's own schedule resumes it from then on.
		attrs = append(attrs, "wakeAt", time.UnixMilli(ch.Next.WakeAt).UTC())
	}
	if err != nil {
		r.log.ErrorContext(ctx, "event source mapping not updated", append(attrs, "error", err.Error())...)
	} else {
		r.log.Log(ctx, level, "batch done", attrs...)
	}
	r.writeMetrics(ctx, m)
}

// stop handles an acquire denied by an OPEN or FORCED_OPEN circuit: the state is marked tripped (so
// that the wake-up re-enables the mapping), then the mapping is disabled at the smallest concurrency. If the state cannot be written
// the mapping is left enabled, since nothing would re-enable it.
func (r *run) stop(ctx context.Context, snap controlstate.Snapshot, g client.Decision) {
	h := r.h
	now := h.Now()
	reason := fmt.Sprintf("circuit %s is %s: fan-out stopped until the wake-up", h.cfg.Circuit, g.State)
	ch, err := h.State.UpdateFrom(ctx, r.uuid, snap, func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		// Tripped at the smallest concurrency and the batch size that goes with it: what the
		// controller resumes at, so the wake-up only has to flip the mapping's flag.
		s := prev
		s.Tripped = true
		s, _ = h.Controller.Resume(s, now)
		s.Tripped = true
		return s, adaptive.Decision{Concurrency: s.Concurrency, BatchSize: s.BatchSize, Trip: true, Reason: reason}
	})
	m := r.metrics()
	m.Properties["reason"] = reason
	m.Properties["circuitState"] = g.State
	if err != nil {
		r.log.ErrorContext(ctx, "circuit denied the batch; controller state not written, so the mapping stays enabled", "circuitState", g.State, "error", err.Error())
		r.writeMetrics(ctx, m)
		return
	}
	m.BatchSize, m.Concurrency, m.Tripped = ch.Next.BatchSize, ch.Next.Concurrency, true
	want := h.want(ch.Decision)
	want.Enabled = mapping.Disable
	a, err := h.Mapping.Apply(ctx, want, true)
	if err != nil {
		r.log.ErrorContext(ctx, "circuit denied the batch; disabling the mapping failed", "circuitState", g.State, "error", err.Error())
	} else {
		attrs := []any{"circuitState", g.State, "mappingChanged", a.Changed}
		if !g.RetryAt.IsZero() {
			attrs = append(attrs, "retryAt", g.RetryAt)
		}
		r.log.WarnContext(ctx, "circuit denied the batch: mapping disabled, every record will be retried", attrs...)
	}
	r.writeMetrics(ctx, m)
}

// keepDisabled handles a batch that arrives while the ventilator is tripped (the mapping was still
// polling, or disabling it failed): nothing is called, and the mapping is disabled if it is not.
func (r *run) keepDisabled(ctx context.Context) {
	_, err := r.h.Mapping.Apply(ctx, mapping.Want{Enabled: mapping.Disable}, false)
	attrs := []any{}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	r.log.WarnContext(ctx, "tripped: waiting for the wake-up, every record will be retried", attrs...)
}

// metrics is the batch's EMF line before a decision: the batch size it ran at and its properties.
func (r *run) metrics() emf.Metrics {
	p := map[string]any{"mapping": r.uuid, "records": len(r.recs), "failures": r.failures(), "eventSource": r.recs[0].source}
	if r.probe != "" {
		p["probe"] = true
	}
	return emf.Metrics{Circuit: r.h.cfg.Circuit, BatchSize: r.size, Concurrency: r.fleet.concurrency, Properties: p}
}

func (r *run) writeMetrics(ctx context.Context, m emf.Metrics) {
	if err := r.h.Metrics.Write(m); err != nil {
		r.log.WarnContext(ctx, "metrics not written", "error", err.Error())
	}
}

// failures counts the records returned for a retry.
func (r *run) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, res := range r.results {
		if res.status.retried() {
			n++
		}
	}
	return n
}

// response lists the records to retry, in the batch's order.
func (r *run) response() Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Response{BatchItemFailures: []ItemFailure{}}
	for i, res := range r.results {
		if res.status.retried() {
			out.BatchItemFailures = append(out.BatchItemFailures, ItemFailure{ItemIdentifier: r.recs[i].itemID})
		}
	}
	return out
}
