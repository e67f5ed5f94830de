package adaptive

import (
	"fmt"
	"time"
)

// Controller picks the ventilator's next batch size from the previous [State] and the latest batch.
// Implementations are pure and safe for concurrent use: all they remember is in the State.
type Controller interface {
	// Policy is the name of the controller's policy ("step", "aimd" or "gradient").
	Policy() string
	// Initial is the state of a ventilator that has none stored yet.
	Initial(now time.Time) State
	// Next folds one batch into prev and decides the next batch size, or a trip. A zero prev is read
	// as Initial(now); a prev written by another policy or with other bounds is adopted (its batch
	// size kept within bounds, the other policy's estimates dropped). A tripped prev stays tripped
	// until Resume.
	Next(prev State, batch Batch, now time.Time) (State, Decision)
	// Resume is the scheduled wake-up: it re-enables a tripped state at MinBatch. A state that is not
	// tripped is returned unchanged.
	Resume(prev State, now time.Time) (State, Decision)
}

// policy is the part of a Controller that differs between policies. decide gets a state that is
// adopted, not tripped and within bounds, and a sample of at least MinSamples calls (or a batch in
// which every call failed); the controller clamps the batch size it returns.
type policy interface {
	name() string
	// adopt drops or repairs policy estimates in s that do not belong to this policy or bounds.
	adopt(cfg Config, s State) State
	decide(cfg Config, s State, sample Batch) (State, string)
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
	}
	return &controller{cfg: cfg, policy: p}, nil
}

// controller holds what every policy shares: bounds, minimum sample, trips and resumes.
type controller struct {
	cfg    Config
	policy policy
}

func (c *controller) Policy() string { return c.policy.name() }

func (c *controller) Initial(now time.Time) State {
	s := State{Policy: c.policy.name(), BatchSize: c.cfg.initialBatch(), UpdatedAt: now.UnixMilli()}
	return c.policy.adopt(c.cfg, s)
}

func (c *controller) Next(prev State, batch Batch, now time.Time) (State, Decision) {
	s := c.adopt(prev, now)
	s.UpdatedAt = now.UnixMilli()
	if s.Tripped {
		return s, Decision{BatchSize: s.BatchSize, Trip: true, Reason: "tripped: waiting for the scheduled wake-up"}
	}
	b := batch.normalized()
	if b.Calls == 0 {
		return s, Decision{BatchSize: s.BatchSize, Reason: "hold: no call in the batch"}
	}

	if c.atFloor(s) && b.Errors*2 > b.Calls {
		s.FloorFailures++
		if s.FloorFailures >= c.cfg.TripAfter {
			s = c.policy.adopt(c.cfg, State{
				Policy: s.Policy, BatchSize: c.cfg.MinBatch, Baseline: s.Baseline, Recent: s.Recent,
				Samples: s.Samples, FloorFailures: s.FloorFailures, Tripped: true, UpdatedAt: s.UpdatedAt,
			})
			return s, Decision{BatchSize: s.BatchSize, Trip: true, Reason: fmt.Sprintf(
				"trip: %d of %d calls failed at batch size %d, %d failing batch(es) in a row",
				b.Errors, b.Calls, c.cfg.MinBatch, s.FloorFailures)}
		}
	} else {
		s.FloorFailures = 0
	}

	sample := s.Pending.Add(b)
	if sample.Calls < c.cfg.MinSamples && b.Errors < b.Calls {
		s.Pending = sample
		return s, Decision{BatchSize: s.BatchSize, Reason: fmt.Sprintf(
			"hold: %d of %d calls needed for a decision", sample.Calls, c.cfg.MinSamples)}
	}
	s.Pending = Batch{}
	s, reason := c.policy.decide(c.cfg, s, sample)
	s.BatchSize = c.clamp(s.BatchSize)
	return s, Decision{BatchSize: s.BatchSize, Reason: reason}
}

func (c *controller) Resume(prev State, now time.Time) (State, Decision) {
	s := c.adopt(prev, now)
	if !s.Tripped {
		return s, Decision{BatchSize: s.BatchSize, Reason: "not tripped: nothing to resume"}
	}
	s.UpdatedAt = now.UnixMilli()
	s.Tripped = false
	s.FloorFailures = 0
	s.Pending = Batch{}
	s.BatchSize = c.cfg.MinBatch
	s.Limit = 0
	s = c.policy.adopt(c.cfg, s)
	return s, Decision{BatchSize: s.BatchSize, Reason: fmt.Sprintf("resume at batch size %d", s.BatchSize)}
}

// atFloor reports whether s runs at the smallest batch size for good, not as a gradient probe.
func (c *controller) atFloor(s State) bool {
	return s.BatchSize <= c.cfg.MinBatch && !s.Probe
}

// adopt turns any stored state into one this controller can continue from.
func (c *controller) adopt(prev State, now time.Time) State {
	if prev.Policy == "" && prev.BatchSize == 0 {
		return c.Initial(now)
	}
	s := prev
	if s.Policy != c.policy.name() {
		s = State{
			Policy: c.policy.name(), BatchSize: s.BatchSize, FloorFailures: s.FloorFailures,
			Tripped: s.Tripped, UpdatedAt: s.UpdatedAt, Pending: s.Pending,
		}
	}
	s.BatchSize = c.clamp(s.BatchSize)
	s.FloorFailures = max(s.FloorFailures, 0)
	s.Pending = s.Pending.normalized()
	return c.policy.adopt(c.cfg, s)
}

func (c *controller) clamp(n int) int {
	return min(max(n, c.cfg.MinBatch), c.cfg.MaxBatch)
}

// normalized repairs a Batch that does not add up (negative counts, more errors than calls), so that
// a hand-built or corrupted Batch cannot push a decision outside its bounds.
func (b Batch) normalized() Batch {
	b.Calls = max(b.Calls, 0)
	b.Errors = min(max(b.Errors, 0), b.Calls)
	b.Slow = min(max(b.Slow, 0), b.Calls-b.Errors)
	b.OKLatency = max(b.OKLatency, 0)
	b.MaxLatency = max(b.MaxLatency, 0)
	if b.Calls > 0 {
		b.Batches = max(b.Batches, 1)
	} else {
		b.Batches = max(b.Batches, 0)
	}
	return b
}

// appLimited reports whether the sample's batches were on average less than half of batchSize: the
// batches were small because there was little to do, so they say nothing about a larger size.
func appLimited(sample Batch, batchSize int) bool {
	return sample.Calls*2 < batchSize*max(sample.Batches, 1)
}
