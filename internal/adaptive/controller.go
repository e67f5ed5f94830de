package adaptive

import (
	"fmt"
	"time"
)

// Controller picks the fleet's next concurrency and the next batch size from the previous [State]
// and the latest batch. Implementations are pure and safe for concurrent use: all they remember is
// in the State.
type Controller interface {
	// Policy is the name of the controller's policy ("pace", "knee", "step", "aimd" or "gradient").
	Policy() string
	// PerCall reports whether the policy decides per round of completed calls within a batch (see
	// [Pool]) rather than once per batch.
	PerCall() bool
	// Overdue is the age past which a call still in flight is evidence, before it completes, that
	// the concurrency of state s is too high (see [Pool.Age]): KneeTolerance times the baseline, and
	// at least overdueFloor, under a per-call policy that has a baseline; 0 (never) otherwise.
	Overdue(s State) time.Duration
	// Initial is the state of a ventilator that has none stored yet.
	Initial(now time.Time) State
	// Next folds one batch into prev and decides the next concurrency and batch size, or a trip. A
	// zero prev is read as Initial(now); a prev written by another policy, with other bounds or by
	// an older version (a batch size but no concurrency) is adopted (its figures kept within bounds,
	// the other policy's estimates dropped). A tripped prev stays tripped until Resume. A trip of
	// its own (failures at the floor) sets State.WakeAt to now + Config.WakeAfter.
	Next(prev State, batch Batch, now time.Time) (State, Decision)
	// Resume is the wake-up: it re-enables a tripped state at MinConcurrency and clears its
	// WakeAt. A state that is not tripped is returned unchanged.
	Resume(prev State, now time.Time) (State, Decision)
}

// policy is the part of a Controller that differs between policies. decide gets a state that is
// adopted, not tripped and within bounds, and a sample of at least MinSamples calls (or a batch in
// which every call failed); it moves s.Concurrency (and its own estimates), which the controller
// then clamps.
type policy interface {
	name() string
	// adopt drops or repairs policy estimates in s that do not belong to this policy or bounds.
	adopt(cfg Config, s State) State
	decide(cfg Config, s State, sample Batch, now time.Time) (State, string)
}

// New returns the controller for cfg.Policy, after validating cfg.
func New(cfg Config) (Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("adaptive: new controller: %w", err)
	}
	var p policy
	switch cfg.Policy {
	case PolicyStep:
		p = stepPolicy{}
	case PolicyAIMD:
		p = aimdPolicy{}
	case PolicyGradient:
		p = gradientPolicy{}
	case PolicyKnee:
		p = kneePolicy{}
	case PolicyPace:
		p = kneePolicy{perCall: true}
	}
	return &controller{cfg: cfg, policy: p}, nil
}

// controller holds what every policy shares: bounds, minimum sample, batch sizing, trips and
// resumes.
type controller struct {
	cfg    Config
	policy policy
}

func (c *controller) Policy() string { return c.policy.name() }

func (c *controller) PerCall() bool {
	k, ok := c.policy.(kneePolicy)
	return ok && k.perCall
}

func (c *controller) Overdue(s State) time.Duration {
	if !c.PerCall() || s.Baseline <= 0 {
		return 0
	}
	return max(time.Duration(float64(s.Baseline)*c.cfg.KneeTolerance), overdueFloor)
}

func (c *controller) Initial(now time.Time) State {
	s := State{Policy: c.policy.name(), Concurrency: c.cfg.initialConcurrency(), Pollers: 1, Ramp: true,
		UpdatedAt: now.UnixMilli()}
	s.BatchSize = c.batchFor(s, Batch{})
	return c.policy.adopt(c.cfg, s)
}

func (c *controller) Next(prev State, batch Batch, now time.Time) (State, Decision) {
	s := c.adopt(prev, now)
	s.UpdatedAt = now.UnixMilli()
	if s.Tripped {
		return s, c.decision(s, true, "tripped: waiting for the wake-up")
	}
	b := batch.normalized()
	if b.Pollers > 0 {
		s.Pollers = b.Pollers
	}
	if b.Calls == 0 {
		return s, c.decision(s, false, "hold: no call in the batch")
	}

	if c.atFloor(s) && b.OK() == 0 && !refusedBesideOthers(b) {
		// Every call failed at the floor. Failures among successes are the records' own (a poison
		// record fails while others succeed), or the circuit's business: it opens on the rates.
		s = noteFloorFailure(s, b)
		if s.FloorFailures >= c.floorRounds() && s.FloorKeys >= 2 {
			s.Tripped = true
			s.Pending = Batch{}
			// The circuit may stay CLOSED (its window full of earlier successes, an operator's
			// FORCED_CLOSED): no state change would then wake the ventilator. It owns the wake.
			s.WakeAt = now.Add(c.cfg.WakeAfter).UnixMilli()
			return s, c.decision(s, true, fmt.Sprintf(
				"trip: %d of %d calls failed at concurrency %d, %d failing batch(es) in a row; self-wake from %s",
				b.Errors, b.Calls, c.cfg.MinConcurrency, s.FloorFailures, now.Add(c.cfg.WakeAfter).UTC().Format(time.RFC3339)))
		}
	} else {
		s.FloorFailures, s.FloorKey, s.FloorKeys = 0, "", 0
	}

	sample := s.Pending.Add(b)
	if sample.Calls < c.cfg.MinSamples && b.Errors < b.Calls {
		s.Pending = sample
		return s, c.decision(s, false, fmt.Sprintf(
			"hold: %d of %d calls needed for a decision", sample.Calls, c.cfg.MinSamples))
	}
	s.Pending = Batch{}
	s, reason := c.policy.decide(c.cfg, s, sample, now)
	s.Concurrency = c.clamp(s.Concurrency)
	s.BatchSize = c.batchFor(s, sample)
	return s, c.decision(s, false, reason)
}

func (c *controller) Resume(prev State, now time.Time) (State, Decision) {
	s := c.adopt(prev, now)
	if !s.Tripped {
		return s, c.decision(s, false, "not tripped: nothing to resume")
	}
	s.UpdatedAt = now.UnixMilli()
	s.Tripped, s.WakeAt = false, 0
	s.FloorFailures, s.FloorKey, s.FloorKeys = 0, "", 0
	s.Pending = Batch{}
	s.Concurrency = c.cfg.MinConcurrency
	// What the provider did before the trip says nothing of it now; but a policy that decides per
	// call goes back to the last known good concurrency as soon as a round succeeds at the old
	// latency, and probes above it from there.
	good := 0.0
	if c.PerCall() {
		good = min(max(s.Knee, s.Good), float64(c.cfg.MaxConcurrency))
	}
	if good <= float64(c.cfg.MinConcurrency) {
		// The floor is no knee: nothing of ours queues there. Slow start finds the knee afresh
		// rather than probing up from 1 a call at a time.
		good = 0
	}
	s.Limit, s.Knee, s.Recent, s.LevelAt, s.LevelCalls, s.LevelLatency = 0, good, 0, 0, 0, 0
	s.Ramp = true
	s = c.policy.adopt(c.cfg, s)
	s.BatchSize = c.batchFor(s, Batch{})
	return s, c.decision(s, false, fmt.Sprintf("resume at concurrency %d, batch size %d", s.Concurrency, s.BatchSize))
}

// decision is the Decision that applies s.
func (c *controller) decision(s State, trip bool, reason string) Decision {
	return Decision{Concurrency: s.Concurrency, BatchSize: s.BatchSize, Trip: trip, Reason: reason}
}

// perCallFloorRounds is the fewest failing rounds in a row at the floor that trip a policy that
// decides per call: there a round is one call, and two poison records retried one after the other
// (a batch's head holds the retries) are two records failing in a row at the floor, which tripped
// the 5 ms shared provider of `make sim` (seed 16) for a minute of its two-minute degraded phase.
const perCallFloorRounds = 3

// floorRounds is how many failing samples in a row at the floor trip the controller: TRIP_AFTER
// batches, or at least perCallFloorRounds rounds under a policy that decides per call.
func (c *controller) floorRounds() int {
	if c.PerCall() {
		return max(c.cfg.TripAfter, perCallFloorRounds)
	}
	return c.cfg.TripAfter
}

// noteFloorFailure counts a failing batch at the smallest concurrency, and whether the failures of
// the streak came from more than one record: one poison record failing again and again is the
// record's fault, not the provider's, and must not trip.
func noteFloorFailure(s State, b Batch) State {
	s.FloorFailures++
	switch {
	case b.FailedKey == "" || b.FailedKeys >= 2:
		s.FloorKeys = 2 // unknown records, or several: the provider fails
	case s.FloorKey == "":
		s.FloorKey, s.FloorKeys = b.FailedKey, max(s.FloorKeys, 1)
	case s.FloorKey != b.FailedKey:
		s.FloorKeys = 2
	}
	return s
}

// refusedBesideOthers reports whether every call of b that failed was refused (a 429, a throttled
// worker) while other ventilators were running beside it (several shards, an SQS mapping's
// invocations). Such a round at the floor says that the provider is full, not that it refuses the
// fleet's smallest concurrency: the others may still hold the larger pools their batches began
// with, until those end. It holds at the floor instead of tripping: with two shards, the 5 ms
// provider that refuses past its capacity was tripped again and again by the floor rule (`make sim
// ARGS='-pollers 2'`: 5.3 % of its optimum; 97.2 % without). A provider that refuses every call
// for good is the circuit's to open: the checker's probes fail on it.
func refusedBesideOthers(b Batch) bool {
	return b.Pollers > 1 && b.Errors > 0 && b.Refused == b.Errors
}

// atFloor reports whether s runs at the smallest concurrency for good, not as a probe.
func (c *controller) atFloor(s State) bool {
	return s.Concurrency <= c.cfg.MinConcurrency && !s.Probe
}

// adopt turns any stored state into one this controller can continue from.
func (c *controller) adopt(prev State, now time.Time) State {
	if prev.Policy == "" && prev.BatchSize == 0 && prev.Concurrency == 0 {
		return c.Initial(now)
	}
	s := prev
	if s.Concurrency == 0 {
		// Written before concurrency and batch size were separate: the batch size was the
		// concurrency.
		s.Concurrency = s.BatchSize
	}
	if s.Policy != c.policy.name() {
		s = State{
			Policy: c.policy.name(), Concurrency: s.Concurrency, BatchSize: s.BatchSize, Pollers: s.Pollers,
			FloorFailures: s.FloorFailures, FloorKey: s.FloorKey, FloorKeys: s.FloorKeys,
			Tripped: s.Tripped, WakeAt: s.WakeAt, UpdatedAt: s.UpdatedAt, Pending: s.Pending,
		}
	}
	s.Concurrency = c.clamp(s.Concurrency)
	s.BatchSize = c.clampBatch(s.BatchSize)
	s.Pollers = max(s.Pollers, 1)
	s.FloorFailures = max(s.FloorFailures, 0)
	s.FloorKeys = min(max(s.FloorKeys, 0), 2)
	s.Pending = s.Pending.normalized()
	return c.policy.adopt(c.cfg, s)
}

// batchFor sizes the next batch: rounds of calls for one ventilator's pool, at least BatchFactor and
// enough to last BatchTime at the latest latency, so that the pool stays busy and the time between
// batches is small beside the batch; while ramping up, one round of at least rampCalls calls, so the
// next decision comes fast;
// and no more than fit in BudgetShare of the time budget.
func (c *controller) batchFor(s State, sample Batch) int {
	pool := Share(s.Concurrency, s.Pollers)
	lat := max(sample.MeanLatency(), s.Recent)
	if lat == 0 && c.PerCall() {
		// Right after a wake-up nothing recent is known; the baseline is the best guess.
		lat = s.Baseline
	}
	rounds := c.cfg.BatchFactor
	if lat > 0 {
		rounds = max(rounds, int(min(float64(c.cfg.BatchTime)/float64(lat), MaxBatchLimit)))
	}
	if c.PerCall() {
		return c.clampBatch(c.perCallBatch(s, sample, lat, rounds))
	}
	if s.Ramp {
		rounds = (rampCalls + pool - 1) / pool
	}
	n := min(pool*rounds, MaxBatchLimit)
	if sample.Budget > 0 && lat > 0 {
		fit := int(min(c.cfg.BudgetShare*float64(sample.Budget)/float64(lat), MaxBatchLimit))
		n = min(n, pool*max(fit, 1))
	}
	if sample.Unsent > 0 && sample.Batches > 0 {
		// The budget ran out: at most half of what was called per batch.
		n = min(n, max(sample.Calls/sample.Batches/2, 1))
	}
	return c.clampBatch(n)
}

// perCallRounds is how many times BatchFactor rounds a batch holds under a policy that decides per
// call.
const perCallRounds = 4

// perCallBatch sizes the next batch of a policy that moves its limit within the batch: rounds of
// calls for the pool the invocation may reach (while ramping up, the last known good concurrency or
// twice the current one), as many rounds as can start within the time budget plus the round that
// finishes after it, so that the pool stays busy until its deadline and no call is left unsent for
// lack of time.
func (c *controller) perCallBatch(s State, sample Batch, lat time.Duration, rounds int) int {
	target := s.Concurrency
	if s.Ramp {
		// Slow start may reach the last known knee or good concurrency, or its first window,
		// within the batch: records for a pool that size, so that it does not run dry.
		target = max(target, int(s.Knee), int(s.Good), paceFirstWindow, min(2*s.Concurrency, c.cfg.MaxConcurrency))
	}
	pool := Share(c.clamp(target), s.Pollers)
	// The pool decides as calls complete, so a long batch delays no decision: it only drains
	// once, losing half a round. perCallRounds times BatchFactor rounds keep some 99 % of the
	// batch's time busy where BatchFactor keeps 97 %, which is a limited provider's goodput (it
	// cannot be held a little above its capacity to make up for the drain). A wake-up's first
	// batch takes the baseline for its latency: a long one too, since calls start only while they
	// fit before the deadline, and the rest go back unsent (recovery at 30 s: 1.05 x the target
	// with BATCH_FACTOR rounds, 0.92 with these).
	if lat > 0 {
		rounds = max(rounds, perCallRounds*c.cfg.BatchFactor)
	}
	if sample.StartBudget > 0 && lat > 0 {
		// Calls start while StartFactor latencies fit before the deadline (Pool.Fits); the budget
		// less the start budget is the call timeout, which bounds that window. Two rounds more:
		// the one started last, and one for the calls that end early.
		start := sample.Budget - startWindow(lat, sample.Budget-sample.StartBudget)
		rounds = min(rounds, int(min(float64(max(start, 0))/float64(lat), MaxBatchLimit))+2)
	} else if sample.Budget > 0 && lat > 0 {
		rounds = min(rounds, max(int(min(c.cfg.BudgetShare*float64(sample.Budget)/float64(lat), MaxBatchLimit)), 1))
	}
	return min(pool*max(rounds, 1), MaxBatchLimit)
}

func (c *controller) clamp(n int) int {
	return min(max(n, c.cfg.MinConcurrency), c.cfg.MaxConcurrency)
}

func (c *controller) clampBatch(n int) int {
	return min(max(n, c.cfg.MinBatch), c.cfg.MaxBatch)
}

// normalized repairs a Batch that does not add up (negative counts, more errors than calls), so that
// a hand-built or corrupted Batch cannot push a decision outside its bounds.
func (b Batch) normalized() Batch {
	b.Calls = max(b.Calls, 0)
	b.Errors = min(max(b.Errors, 0), b.Calls)
	b.Refused = min(max(b.Refused, 0), b.Errors)
	b.Slow = min(max(b.Slow, 0), b.Calls-b.Errors)
	b.OKLatency = max(b.OKLatency, 0)
	b.MinLatency = max(b.MinLatency, 0)
	b.MaxLatency = max(b.MaxLatency, 0)
	b.Pool, b.Pollers, b.Unsent = max(b.Pool, 0), max(b.Pollers, 0), max(b.Unsent, 0)
	b.Elapsed, b.Budget, b.StartBudget = max(b.Elapsed, 0), max(b.Budget, 0), max(b.StartBudget, 0)
	b.FailedKeys = min(max(b.FailedKeys, 0), b.Errors)
	if b.Calls > 0 {
		b.Batches = max(b.Batches, 1)
	} else {
		b.Batches = max(b.Batches, 0)
	}
	return b
}

// appLimited reports whether the sample's batches gave each ventilator on average less than half of
// its share of the concurrency: the batches were small because there was little to do, so they say
// nothing about a higher concurrency.
func appLimited(sample Batch, s State) bool {
	return sample.Calls*2 < Share(s.Concurrency, s.Pollers)*max(sample.Batches, 1)
}
