package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// epoch is the wall-clock time of virtual time 0, handed to the controllers.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Point is the batch size from virtual time T on; 0 while the mapping is disabled.
type Point struct {
	T    time.Duration
	Size int
}

// Outcome is what one policy did over the whole scenario.
type Outcome struct {
	// Policy is the policy's name.
	Policy string
	// Phases holds the figures of each phase of the scenario, in order.
	Phases []PhaseStats
	// Series is the batch size over time.
	Series []Point
}

// PhaseStats are the raw figures of one policy in one phase.
type PhaseStats struct {
	// Successes counts records that succeeded for the first time in batches sent during the phase.
	Successes int
	// Calls counts the calls sent to the provider during the phase.
	Calls int
	// Batches counts the batches started during the phase.
	Batches int
	// BatchSizeSum adds up the batch sizes of those batches.
	BatchSizeSum int
	// OverCapacity is how long more than the phase's capacity of calls were in flight.
	OverCapacity time.Duration
	// OKLatency adds up the latencies of the successful calls sent during the phase.
	OKLatency time.Duration
	// OKCalls counts the successful calls sent during the phase.
	OKCalls int
	// Duplicates counts successes of records that had already succeeded.
	Duplicates int
	// Lost counts records that arrived during the phase and were, at the end, neither succeeded nor
	// waiting nor in flight.
	Lost int
	// TripAfter is how long after the phase began the policy first tripped; -1 if it did not.
	TripAfter time.Duration
	// TripBatches is how many batches the phase had started when the policy first tripped.
	TripBatches int
	// Trips counts the trips during the phase.
	Trips int
	// PerSecond counts the first successes completed in each second of the phase.
	PerSecond []int
}

// runner plays one policy through one scenario.
type runner struct {
	sc     Scenario
	pol    Policy
	rng    *rand.Rand
	prov   provider
	clock  agenda
	end    time.Duration
	starts []time.Duration

	// The event source: records arrive one by one at ArrivalRate; failed and redelivered records wait
	// in retry and are delivered first.
	arrived int   // records delivered for the first time so far
	retry   []int // waiting records, oldest first
	succ    []uint8

	// The mapping and the ventilator.
	enabled    bool
	batchSize  int
	state      adaptive.State
	batchStart time.Duration
	batch      []int    // records of the batch in flight (records skipped by dedup included)
	called     []int    // records of the batch in flight that were called
	out        []served // outcomes of called, in order
	results    []adaptive.Result
	scratch    []time.Duration

	// outcome is what run returns, filled in as the scenario plays.
	outcome Outcome
}

// Run plays the scenario once for each policy, from the same seed, and returns their outcomes in the
// order of policies.
func Run(sc Scenario, policies []Policy) ([]Outcome, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if len(policies) == 0 {
		return nil, fmt.Errorf("sim: no policy to run")
	}
	outs := make([]Outcome, 0, len(policies))
	for _, p := range policies {
		if p.Controller == nil && p.Fixed < 1 {
			return nil, fmt.Errorf("sim: policy %s: a fixed batch size must be at least 1", p.Name)
		}
		outs = append(outs, newRunner(sc, p).run())
	}
	return outs, nil
}

func newRunner(sc Scenario, p Policy) *runner {
	rng := rand.New(rand.NewPCG(sc.Seed, 0x9e3779b97f4a7c15))
	r := &runner{
		sc:   sc,
		pol:  p,
		rng:  rng,
		prov: provider{rng: rng, noise: sc.Noise, timeout: sc.Timeout, failFast: sc.FailFast, discipline: sc.Discipline},
		end:  sc.Duration(),
	}
	for i := range sc.Phases {
		r.starts = append(r.starts, sc.phaseStart(i))
	}
	r.outcome = Outcome{Policy: p.Name, Phases: make([]PhaseStats, len(sc.Phases))}
	for i, ph := range sc.Phases {
		r.outcome.Phases[i] = PhaseStats{TripAfter: -1, PerSecond: make([]int, int(math.Ceil(ph.Duration.Seconds())))}
	}
	r.enabled = true
	if p.Controller != nil {
		r.state = p.Controller.Initial(epoch)
		r.batchSize = r.state.BatchSize
	} else {
		r.batchSize = p.Fixed
	}
	return r
}

func (r *runner) run() Outcome {
	r.mark(0)
	r.clock.schedule(0, evPoll)
	r.clock.schedule(r.sc.WakeOffset, evWake)
	for {
		e, ok := r.clock.next()
		if !ok || e.at >= r.end {
			break
		}
		switch e.kind {
		case evPoll:
			r.poll(e.at)
		case evDone:
			r.done(e.at)
		case evWake:
			r.wake(e.at)
		}
	}
	r.countLost()
	return r.outcome
}

// arrivedBy is how many records have arrived by virtual time t.
func (r *runner) arrivedBy(t time.Duration) int {
	return int(t.Seconds() * r.sc.ArrivalRate)
}

// arrivalOf is when record id arrives.
func (r *runner) arrivalOf(id int) time.Duration {
	return time.Duration(float64(id+1) / r.sc.ArrivalRate * float64(time.Second))
}

// poll delivers a batch to the ventilator, which calls the provider for every record it has not
// already seen succeed, and returns when the slowest call has.
func (r *runner) poll(t time.Duration) {
	if !r.enabled {
		return
	}
	waiting := len(r.retry) + r.arrivedBy(t) - r.arrived
	if waiting <= 0 {
		r.clock.schedule(r.arrivalOf(r.arrived), evPoll)
		return
	}
	n := min(r.batchSize, waiting)
	r.batch = r.batch[:0]
	k := min(n, len(r.retry))
	r.batch = append(r.batch, r.retry[:k]...)
	r.retry = r.retry[k:]
	for ; k < n; k++ {
		r.batch = append(r.batch, r.arrived)
		r.arrived++
		r.succ = append(r.succ, 0)
	}

	r.called = r.called[:0]
	for _, id := range r.batch {
		if r.sc.NoDedup || r.succ[id] == 0 {
			r.called = append(r.called, id)
		}
	}
	r.out = growServed(r.out, len(r.called))
	ph := r.sc.phaseAt(t)
	phase := r.sc.Phases[ph]
	r.prov.serve(phase, r.out)

	st := &r.outcome.Phases[ph]
	st.Batches++
	st.BatchSizeSum += r.batchSize
	st.Calls += len(r.called)
	st.OverCapacity += overCapacity(r.out, phase.Capacity, r.scratch)
	var slowest time.Duration
	for _, o := range r.out {
		slowest = max(slowest, o.latency)
		if o.ok {
			st.OKCalls++
			st.OKLatency += o.latency
		}
	}
	r.batchStart = t
	r.clock.schedule(t+r.sc.BatchOverhead+slowest, evDone)
}

// done settles the batch in flight at virtual time t: successes are recorded, failed records go back
// to the source, and the controller decides the next batch size or trips.
func (r *runner) done(t time.Duration) {
	start := r.batchStart
	r.results = r.results[:0]
	for i, id := range r.called {
		o := r.out[i]
		r.results = append(r.results, adaptive.Result{OK: o.ok, Latency: o.latency})
		if !o.ok {
			r.retry = append(r.retry, id)
			continue
		}
		// A success counts for the phase the provider served it in (when the batch was sent), and
		// in the per-second series at the moment it completed.
		st := &r.outcome.Phases[r.sc.phaseAt(start)]
		if r.succ[id] > 0 {
			st.Duplicates++
		} else {
			st.Successes++
			at := start + r.sc.BatchOverhead/2 + o.latency
			ph := r.sc.phaseAt(at)
			if sec := int((at - r.starts[ph]).Seconds()); sec >= 0 && sec < len(r.outcome.Phases[ph].PerSecond) {
				r.outcome.Phases[ph].PerSecond[sec]++
			}
		}
		r.succ[id] = min(r.succ[id]+1, 255)
		if r.rng.Float64() < r.sc.RedeliveryRatio {
			r.retry = append(r.retry, id)
		}
	}

	if r.pol.Controller != nil {
		sum := adaptive.Summarize(r.results, r.pol.SlowCall)
		var d adaptive.Decision
		r.state, d = r.pol.Controller.Next(r.state, sum, epoch.Add(t))
		if d.Trip {
			r.trip(t)
			return
		}
		r.batchSize = d.BatchSize
	}
	r.mark(t)
	r.clock.schedule(t, evPoll)
}

// trip disables the mapping at virtual time t.
func (r *runner) trip(t time.Duration) {
	r.enabled = false
	ph := r.sc.phaseAt(t)
	st := &r.outcome.Phases[ph]
	st.Trips++
	if st.TripAfter < 0 {
		st.TripAfter = t - r.starts[ph]
		st.TripBatches = st.Batches
	}
	r.mark(t)
}

// wake is the schedule: a disabled mapping is re-enabled at the batch size the controller resumes at.
func (r *runner) wake(t time.Duration) {
	r.clock.schedule(t+r.sc.WakeEvery, evWake)
	if r.enabled || r.pol.Controller == nil {
		return
	}
	var d adaptive.Decision
	r.state, d = r.pol.Controller.Resume(r.state, epoch.Add(t))
	r.batchSize = d.BatchSize
	r.enabled = true
	r.mark(t)
	r.clock.schedule(t, evPoll)
}

// mark records the batch size from virtual time t on.
func (r *runner) mark(t time.Duration) {
	size := r.batchSize
	if !r.enabled {
		size = 0
	}
	s := r.outcome.Series
	if len(s) > 0 && s[len(s)-1].Size == size {
		return
	}
	r.outcome.Series = append(s, Point{T: t, Size: size})
}

// countLost checks conservation at the end: every record that arrived has succeeded, or waits, or is
// in the batch in flight.
func (r *runner) countLost() {
	seen := make([]bool, r.arrived)
	for id, n := range r.succ {
		seen[id] = n > 0
	}
	for _, id := range r.retry {
		seen[id] = true
	}
	for _, id := range r.batch {
		seen[id] = true
	}
	for id, ok := range seen {
		if !ok {
			r.outcome.Phases[r.sc.phaseAt(r.arrivalOf(id))].Lost++
		}
	}
}

func growServed(s []served, n int) []served {
	if cap(s) < n {
		return make([]served, n)
	}
	return s[:n]
}
