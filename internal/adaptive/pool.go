package adaptive

import "time"

// Pool is the admission control of one ventilator invocation: how many of its calls may be in
// flight at any moment. The ventilator starts a call whenever fewer than [Pool.Limit] are in flight,
// tells the Pool of it ([Pool.Start] when the record starts, [Pool.Sent] when its worker call
// does) and of its completion ([Pool.Done]).
//
// Under a policy that decides per call ([Controller.PerCall], the pace policy) the limit moves as
// calls complete, the way Netflix's concurrency-limits and Envoy's adaptive concurrency filter
// work: every round of completions as many as the pool is a decision of the controller, and
// between rounds every completion checks whether the calls so far already call for a cut (a
// latency risen past the knee, failures of two records, a refusal): the in-batch brake, so that no
// batch keeps a concurrency it already knows to be too high; and calls still in flight long past
// the baseline brake by their age before they complete ([Pool.Age]). A round counts only the calls sent
// since the last decision, as TCP counts a window per round trip: the calls sent before say
// nothing of the new concurrency, and must not cut it twice for one cause. Under the other policies the limit is
// the batch's share throughout and the whole batch is one decision at the end, as before.
//
// What the Pool learnt is stored once, at the end of the invocation, under a conditional write:
// [Pool.Apply] replays its decisions onto the stored state, which is the state the Pool began
// with unless another ventilator (a shard, a concurrent SQS invocation) wrote in between; then
// the same samples are decided again from that state, so nothing either learnt is lost.
//
// A Pool is pure (time is passed in) and not safe for concurrent use: the caller serialises calls
// to it.
type Pool struct {
	ctl     Controller
	slow    time.Duration
	perCall bool
	// start is the state the invocation began with, state the state after the decisions so far.
	start, state State
	last         Decision
	// base is what the caller knows of the batch (Pool, Pollers, Budget, StartBudget), copied into
	// every sample.
	base Batch
	// round holds the calls sent and completed since the last decision; peak is the most calls
	// in flight when one of them was sent.
	round Batch
	peak  int
	// stale holds the calls completed since the latest decision that were sent before it; cut is
	// set when that decision lowered the limit (see Done).
	stale Batch
	cut   bool
	// steps are the samples decided on, in order, to replay onto another stored state.
	steps []step
	// sqs is set for an invocation of an SQS mapping (NewSQSPool): its limit is SQSScaling's pool
	// under a MAX_CONCURRENCY of sqsMax.
	sqs    bool
	sqsMax int
	// tripped is set once a decision trips: the ventilator starts no more calls.
	tripped bool
	// flights are the calls in flight, noted by Sent, for the age brake.
	flights []flight
}

// step is one decision: its sample and when it was made.
type step struct {
	sample Batch
	at     time.Time
}

// NewPool starts the admission control of an invocation whose controller state is s, shared with
// pollers-1 other ventilators running at once. base carries what the caller knows before the first
// call (Budget and StartBudget); slowCall is the slow-call threshold the calls are judged against.
func NewPool(ctl Controller, s State, pollers int, base Batch, slowCall time.Duration) *Pool {
	base.Pollers = max(pollers, 1)
	p := &Pool{ctl: ctl, slow: slowCall, perCall: ctl.PerCall(), start: s, state: s, base: base}
	p.last = Decision{Concurrency: s.Concurrency, BatchSize: s.BatchSize, Reason: "hold: too few calls in the batch for a decision"}
	p.resize(s.Concurrency)
	return p
}

// NewSQSPool is NewPool for an invocation of an SQS mapping whose MAX_CONCURRENCY is
// maxConcurrency. Lambda runs up to the mapping's MaximumConcurrency invocations at once (the
// SQSScaling of a concurrency the mapping was set to, which may differ from s's) and starts more
// as it is raised, while the ones under way keep their pools: the limit is SQSScaling's pool at
// the concurrency decided so far, never the invocation's share of the invocations it began
// among, which grew within each batch past what MAX_CONCURRENCY allows all of them together. Its
// samples name as their pollers the invocations SQSScaling gives the concurrency decided so far.
func NewSQSPool(ctl Controller, s State, maxConcurrency int, base Batch, slowCall time.Duration) *Pool {
	p := NewPool(ctl, s, 1, base, slowCall)
	p.sqs, p.sqsMax = true, maxConcurrency
	p.resize(s.Concurrency)
	return p
}

// Limit is how many calls the invocation may have in flight now: its share of the fleet's current
// concurrency (SQSScaling's pool on SQS); 0 once a decision tripped (start no more calls).
func (p *Pool) Limit() int {
	if p.tripped {
		return 0
	}
	return p.base.Pool
}

// resize makes the invocation's share that of a fleet concurrency of c: its part of c among the
// ventilators running at once, which on SQS are the invocations SQSScaling gives c.
func (p *Pool) resize(c int) {
	if p.sqs {
		p.base.Pollers, p.base.Pool = SQSScaling(c, p.sqsMax)
		return
	}
	p.base.Pool = Share(c, p.base.Pollers)
}

// Tripped reports whether a decision within the batch tripped.
func (p *Pool) Tripped() bool { return p.tripped }

// Start notes a call sent with inflight calls in flight, itself included.
func (p *Pool) Start(inflight int) {
	p.peak = max(p.peak, inflight)
}

// Done folds one completed call, sent at sent, in at now, and reports whether the limit changed.
// Under a per-call policy a call sent before the latest decision is left out of the rounds (see
// doneStale), and the calls still in flight brake by their age (see ageBrake).
func (p *Pool) Done(r Result, sent, now time.Time) bool {
	before := p.Limit()
	p.landed(sent)
	if p.perCall && len(p.steps) > 0 && sent.Before(p.steps[len(p.steps)-1].at) {
		p.doneStale(r, now)
	} else {
		p.doneFresh(r, now)
	}
	p.ageBrake(now)
	return p.Limit() != before
}

// doneFresh folds in a call sent since the latest decision: a full round decides whatever it
// says, a partial one only when it brakes.
func (p *Pool) doneFresh(r Result, now time.Time) {
	one := Summarize([]Result{r}, p.slow)
	if p.round.Calls == 0 {
		p.round = one
	} else {
		p.round = p.round.Add(one)
	}
	if !p.perCall || p.tripped {
		return
	}
	before := p.Limit()
	sample := p.sample()
	s, d := p.ctl.Next(p.state, sample, now)
	if p.round.Calls >= max(before, 1) || d.Trip || d.Concurrency < p.state.Concurrency {
		p.decided(s, d, sample, now)
	}
}

// doneStale folds in a call sent before the latest decision. It says nothing of the limit that
// decision set: after a cut it must not cut again for the same cause, and a raise or a hold is
// for a round of fresh calls to judge. But after a raise or a hold it may show that the provider
// slowed down under the calls in flight, and then the brake acts on these calls at once: a 70 s
// provider that shrinks under 9 calls answers no fresh call before the calls sent since the last
// decision have queued into their timeouts. Only a cut (or a trip) is adopted.
func (p *Pool) doneStale(r Result, now time.Time) {
	if p.tripped || p.cut {
		return
	}
	one := Summarize([]Result{r}, p.slow)
	if p.stale.Calls == 0 {
		p.stale = one
	} else {
		p.stale = p.stale.Add(one)
	}
	sample := p.stale
	sample.Batches = 1
	sample.Pollers, sample.Budget, sample.StartBudget = p.base.Pollers, p.base.Budget, p.base.StartBudget
	p.cutOnly(sample, now)
}

// cutOnly lets the controller judge sample and adopts its decision only when it lowers the limit
// or trips: the calls that brake between rounds (stale ones, ages of calls in flight) may cut,
// never raise or hold for the round of fresh calls. It reports whether it adopted.
func (p *Pool) cutOnly(sample Batch, now time.Time) bool {
	s, d := p.ctl.Next(p.state, sample, now)
	if !d.Trip && d.Concurrency >= p.state.Concurrency {
		return false
	}
	p.decided(s, d, sample, now)
	return true
}

// Settle ends the batch at now: unsent counts the records not called for lack of time, elapsed is
// how long the fan-out took. Under a per-call policy the calls since the last round are decided
// on when they make at least half a round (fewer say too little); otherwise the whole batch is one
// decision. It returns the state and decision that the invocation's own samples lead to from the
// state it began with; [Pool.Apply] gives the same from another stored state.
func (p *Pool) Settle(unsent int, elapsed time.Duration, now time.Time) (State, Decision) {
	if p.tripped {
		return p.state, p.last
	}
	sample := p.sample()
	sample.Unsent = unsent
	switch {
	case !p.perCall:
		sample.Elapsed = elapsed
		if sample.Calls > 0 {
			s, d := p.ctl.Next(p.state, sample, now)
			p.decided(s, d, sample, now)
		}
	case p.round.Calls > 0 && 2*p.round.Calls >= max(p.Limit(), 1):
		s, d := p.ctl.Next(p.state, sample, now)
		p.decided(s, d, sample, now)
	}
	return p.state, p.last
}

// Calls reports whether any call completed in the batch.
func (p *Pool) Calls() bool { return len(p.steps) > 0 || p.round.Calls > 0 }

// Apply replays the batch's decisions onto prev, the state stored now: the Pool's own result when
// prev is the state it began with, the same samples decided again otherwise.
func (p *Pool) Apply(prev State) (State, Decision) {
	if prev == p.start || len(p.steps) == 0 {
		if prev != p.start {
			return prev, Decision{Concurrency: prev.Concurrency, BatchSize: prev.BatchSize, Reason: "no decision in the batch"}
		}
		return p.state, p.last
	}
	s, d := prev, Decision{}
	for _, st := range p.steps {
		s, d = p.ctl.Next(s, st.sample, st.at)
		if d.Trip {
			break
		}
	}
	return s, d
}

// Decisions is the number of decisions made in the batch.
func (p *Pool) Decisions() int { return len(p.steps) }

// sample is the round so far with what the caller knows of the batch.
func (p *Pool) sample() Batch {
	b := p.round
	b.Batches = 1
	b.Pool, b.Pollers, b.Budget, b.StartBudget = p.base.Pool, p.base.Pollers, p.base.Budget, p.base.StartBudget
	if p.perCall {
		b.Pool = p.peak
	}
	return b
}

// decided adopts a decision.
func (p *Pool) decided(s State, d Decision, sample Batch, now time.Time) {
	p.cut = s.Concurrency < p.state.Concurrency
	p.state, p.last = s, d
	p.stale = Batch{}
	p.steps = append(p.steps, step{sample: sample, at: now})
	p.round, p.peak = Batch{}, 0
	p.resize(s.Concurrency)
	if d.Trip {
		p.tripped = true
	}
}
