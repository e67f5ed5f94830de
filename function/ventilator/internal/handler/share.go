package handler

import (
	"context"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// share is one invocation's part of the fleet's concurrency.
type share struct {
	// concurrency is the fleet-wide figure of the controller state.
	concurrency int
	// pollers is the number of ventilators running at once: the mapping's MaximumConcurrency on
	// SQS, open shards × parallelization factor on Kinesis.
	pollers int
	// pool is this invocation's calls in flight at most.
	pool int
	// sqs is set on an SQS mapping, whose invocations Lambda scales with MaximumConcurrency.
	sqs bool
}

// newPool starts the invocation's admission control over its share of st's concurrency: on SQS an
// adaptive.NewSQSPool, which keeps SQSScaling's pool as the concurrency moves.
func (s share) newPool(ctl adaptive.Controller, st adaptive.State, cfg adaptive.Config, budget adaptive.Batch) *adaptive.Pool {
	if s.sqs {
		return adaptive.NewSQSPool(ctl, st, cfg.MaxConcurrency, budget, cfg.SlowCall)
	}
	return adaptive.NewPool(ctl, st, s.pollers, budget, cfg.SlowCall)
}

// shareOf works out the invocation's share of st's concurrency, so that the ventilators running at
// once never have more than it in flight together (see adaptive.Share and adaptive.SQSScaling).
func (h *Handler) shareOf(ctx context.Context, r *run, st adaptive.State) share {
	c := st.Concurrency
	if c <= 0 {
		c = st.BatchSize // a state stored before concurrency and batch size were separate figures
	}
	c = min(max(c, h.cfg.Adaptive.MinConcurrency), h.cfg.Adaptive.MaxConcurrency)
	if r.recs[0].source == sourceSQS {
		// config.Load checks this when EVENT_SOURCE_ARN names the queue; with ESM_UUID alone the
		// source is known only now. Below 2, SQSScaling still answers 2 invocations of one call.
		if err := h.cfg.Adaptive.FitsPollers(adaptive.SQSMinMaximumConcurrency); err != nil {
			r.log.ErrorContext(ctx, "the fleet may exceed its concurrency: Lambda runs at least 2 ventilators at once on SQS",
				"pollers", adaptive.SQSMinMaximumConcurrency, "error", err.Error())
		}
		pollers, pool := adaptive.SQSScaling(c, h.cfg.Adaptive.MaxConcurrency)
		return share{concurrency: c, pollers: pollers, pool: pool, sqs: true}
	}
	pollers := 1
	if h.Shards != nil {
		n, err := h.Shards.Pollers(ctx, r.recs[0].eventSourceARN)
		if err != nil {
			r.log.WarnContext(ctx, "number of shards unknown: assuming the last one seen", "error", err.Error())
		}
		pollers = max(n, 1)
	}
	if err := h.cfg.Adaptive.FitsPollers(pollers); err != nil {
		// Every shard's ventilator keeps at least one call in flight, so the fleet's calls can exceed
		// the controller's figure, and MAX_CONCURRENCY too when it is below the poller count: say so
		// on every batch, as the provider's limit is at stake and only the configuration can mend it.
		r.log.ErrorContext(ctx, "the fleet may exceed its concurrency", "pollers", pollers, "error", err.Error())
	}
	return share{concurrency: c, pollers: pollers, pool: adaptive.Share(c, pollers)}
}

// want is the mapping configuration that applies a decision: its batch size, and on SQS the
// MaximumConcurrency that spreads its concurrency over concurrent invocations (the mapping ignores
// it on Kinesis).
func (h *Handler) want(d adaptive.Decision) mapping.Want {
	w := mapping.Want{BatchSize: d.BatchSize}
	if d.Concurrency > 0 {
		w.MaximumConcurrency, _ = adaptive.SQSScaling(d.Concurrency, h.cfg.Adaptive.MaxConcurrency)
	}
	return w
}
