package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// epoch is the wall-clock time of virtual time 0, handed to the controllers and the circuit.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// circuitID names the simulated provider's circuit.
const circuitID = "provider"

// Point is the fleet's concurrency from virtual time T on; 0 while the mapping is disabled.
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
	// Series is the concurrency over time.
	Series []Point
	// MaxInFlight is the most calls the fleet ever had in flight at once.
	MaxInFlight int
	// MaxConcurrency is the largest fleet concurrency the controller ever decided.
	MaxConcurrency int
	// MaxRunning is the most ventilators that ever had a batch under way at once (on SQS, the
	// mapping's invocations).
	MaxRunning int
	// Lost counts records that arrived and were, at the end, neither succeeded, waiting, in flight
	// nor in the dead-letter queue.
	Lost int
	// PoisonDLQ and HealthyDLQ count the poison and the other records sent to the dead-letter queue.
	PoisonDLQ, HealthyDLQ int
}

// PhaseStats are the raw figures of one policy in one phase. Counts by second are relative to the
// phase's start.
type PhaseStats struct {
	// Successes counts first successes by the second they completed in.
	Successes []int
	// InFlight adds up, by second, the calls in flight (call-seconds).
	InFlight []float64
	// OKLatency and OKCalls add up, by second of completion, the successful calls' latencies.
	OKLatency []time.Duration
	OKCalls   []int
	// Calls counts the calls sent during the phase.
	Calls int
	// Batches counts the batches that made calls during the phase.
	Batches int
	// Duplicates counts successes of records that had already succeeded.
	Duplicates int
	// TripAfter is how long after the phase began the ventilator first stopped (its controller
	// tripped, or the circuit denied it as OPEN); -1 if it did not.
	TripAfter time.Duration
	// TripBatches is how many batches the phase had sent calls in when the ventilator first stopped.
	TripBatches int
	// ClosedAt is when the circuit last closed during the phase, from its start; -1 if it did not.
	ClosedAt time.Duration
}

// call is one worker call.
type call struct {
	rec     int
	poller  int
	sent    time.Duration
	refused bool
	done    bool
	// cutAt is when the ventilator's own deadline cuts the call, when that comes before its
	// timeout; 0 otherwise.
	cutAt time.Duration
}

// poller is one ventilator running over the shared controller state (a shard, or an SQS
// invocation slot).
type poller struct {
	busy, waiting bool
	batch         []int
	next          int
	inflight      int
	pool          int
	ctl           *adaptive.Pool
	start         time.Duration
	fanOutBy      time.Duration
	permit        string
	unsent        int
	results       []adaptive.Result
	outcomes      []circuit.Outcome
}

// runner plays one policy through one scenario.
type runner struct {
	sc    Scenario
	pol   Policy
	rng   *rand.Rand
	clock agenda
	prov  *provider
	end   time.Duration
	// The event source: records arrive one by one at ArrivalRate; failed and redelivered records wait
	// in retry and are delivered first.
	arrived  int
	retry    []int
	succ     []uint8
	attempts []uint8
	dlq      []bool
	// The mapping, the controller state and the ventilators.
	enabled bool
	state   adaptive.State
	pollers []poller
	busy    int // pollers with a batch under way
	calls   []call
	// The circuit, and the outcomes it was told of, by second.
	circ    circuit.Circuit
	window  []circuit.Counts
	permits int
	// Accounting.
	inflight   int
	areaSince  time.Duration
	stopped    []bool // by phase: whether the ventilator has stopped in it
	outcome    Outcome
	done       []int
	phaseStart []time.Duration
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
		if p.Controller == nil {
			return nil, fmt.Errorf("sim: policy %s has no controller", p.Name)
		}
		if sc.Source == SQS && p.MaxConcurrency < adaptive.SQSMinMaximumConcurrency {
			return nil, fmt.Errorf("sim: policy %s: an SQS mapping needs a MAX_CONCURRENCY of at least %d, got %d",
				p.Name, adaptive.SQSMinMaximumConcurrency, p.MaxConcurrency)
		}
		outs = append(outs, newRunner(sc, p).run())
	}
	return outs, nil
}

func newRunner(sc Scenario, p Policy) *runner {
	r := &runner{
		sc:      sc,
		pol:     p,
		rng:     rand.New(rand.NewPCG(sc.Seed, 0x9e3779b97f4a7c15)),
		end:     sc.Duration(),
		pollers: make([]poller, slotsOf(sc, p.MaxConcurrency)),
		window:  make([]circuit.Counts, int(sc.Duration().Seconds())+2),
		stopped: make([]bool, len(sc.Phases)),
	}
	r.prov = newProvider(sc.Discipline, &r.clock)
	r.outcome = Outcome{Policy: p.Name, Phases: make([]PhaseStats, len(sc.Phases))}
	for i, ph := range sc.Phases {
		n := int(math.Ceil(ph.Duration.Seconds()))
		r.outcome.Phases[i] = PhaseStats{
			Successes: make([]int, n), InFlight: make([]float64, n), OKLatency: make([]time.Duration, n),
			OKCalls: make([]int, n), TripAfter: -1, ClosedAt: -1,
		}
		r.phaseStart = append(r.phaseStart, sc.phaseStart(i))
	}
	r.circ = circuit.Circuit{ID: circuitID, State: circuit.Closed, Version: 1, Since: epoch}
	r.enabled = true
	r.state = p.Controller.Initial(epoch)
	return r
}

func (r *runner) run() Outcome {
	r.mark(0)
	for i := range r.sc.Phases {
		r.clock.schedule(r.phaseStart[i], evPhase, i, 0)
	}
	r.pollIdle(0)
	r.clock.schedule(r.sc.CheckOffset, evCheck, 0, 0)
	r.clock.schedule(r.sc.WakeOffset, evWake, wakeBackstop, 0)
	if r.sc.SelfWakeEvery > 0 {
		// The rule's phase within its period, from a stream of its own so that the rest of the
		// run draws the same numbers.
		phase := rand.New(rand.NewPCG(r.sc.Seed, 0x5e1f)).Int64N(int64(r.sc.SelfWakeEvery))
		r.clock.schedule(time.Duration(phase), evWake, wakeSelf, 0)
	}
	for {
		e, ok := r.clock.next()
		if !ok || e.at >= r.end {
			break
		}
		switch e.kind {
		case evPoll:
			r.pollers[e.who].waiting = false
			r.poll(e.who, e.at)
		case evAnswer:
			r.answer(e.who, e.at, false)
		case evTimeout:
			if !r.calls[e.who].done {
				r.prov.drop(e.at, e.who)
				r.answer(e.who, e.at, false)
			}
		case evProvider:
			if e.ver == r.prov.ver {
				r.done = r.prov.complete(e.at, r.done[:0])
				for _, id := range r.done {
					r.answer(id, e.at, true)
				}
			}
		case evPhase:
			r.prov.setCapacity(e.at, r.sc.Phases[e.who].Capacity)
		case evCheck:
			r.check(e.at)
		case evWake:
			r.wake(e.who, e.at)
		}
	}
	r.setInFlight(r.end, r.inflight)
	r.countLost()
	return r.outcome
}

// arrivedBy is how many records have arrived by virtual time t.
func (r *runner) arrivedBy(t time.Duration) int {
	return int(t.Seconds() * r.sc.ArrivalRate)
}

// arrivalOf is when record id arrives.
func (r *runner) arrivalOf(id int) time.Duration {
	return time.Duration(math.Ceil(float64(id+1) / r.sc.ArrivalRate * float64(time.Second)))
}

// isPoison reports whether record id always fails.
func (r *runner) isPoison(id int) bool {
	return r.sc.PoisonEvery > 0 && id%r.sc.PoisonEvery == r.sc.PoisonEvery-1
}

// schedulePoll plans poller i's next poll at t, unless one is planned.
func (r *runner) schedulePoll(i int, t time.Duration) {
	if r.pollers[i].waiting {
		return
	}
	r.pollers[i].waiting = true
	r.clock.schedule(t, evPoll, i, 0)
}

// poll delivers a batch to poller i, which asks the circuit and fans the batch out through its pool.
func (r *runner) poll(i int, t time.Duration) {
	p := &r.pollers[i]
	if !r.enabled || p.busy || r.sc.Source == SQS && r.busy >= r.slots() {
		return // on SQS, a slot freed by the next batch to settle polls again
	}
	waiting := len(r.retry) + r.arrivedBy(t) - r.arrived
	if waiting <= 0 {
		// arrivalOf rounds up and arrivedBy down, but in floating point: at 50 records a second,
		// record 1623 arrives at 32.48 s by the one and after it by the other, and a poll
		// planned for then would find nothing and plan itself for the same instant forever
		// (met by an experiment with several pollers, 200 ms shared, seed 10, without poison
		// records; the default runs never poll at such an instant).
		r.schedulePoll(i, max(r.arrivalOf(r.arrived), t+time.Nanosecond))
		return
	}
	n := min(r.state.BatchSize, waiting)
	if r.sc.Source == SQS {
		n = min(n, SQSMaxBatch)
	}
	p.batch = p.batch[:0]
	k := min(n, len(r.retry))
	p.batch = append(p.batch, r.retry[:k]...)
	r.retry = r.retry[k:]
	for ; k < n; k++ {
		p.batch = append(p.batch, r.arrived)
		r.arrived++
		r.succ = append(r.succ, 0)
		r.attempts = append(r.attempts, 0)
		r.dlq = append(r.dlq, false)
	}
	// Step 1: ask the circuit.
	r.permits++
	res, d := circuit.Acquire(r.circ, "v"+strconv.Itoa(r.permits), r.sc.Circuit, epoch.Add(t))
	r.apply(res, t)
	if !d.Allowed {
		r.retry = append(r.retry, p.batch...)
		p.batch = p.batch[:0]
		if r.circ.Label() == string(circuit.Open) || r.circ.Label() == string(circuit.ForcedOpen) {
			// Only OPEN and FORCED_OPEN trip: the mapping is disabled until a wake-up.
			r.state.Tripped = true
			r.stop(t)
			return
		}
		r.schedulePoll(i, t+r.sc.RetryDelay) // HALF_OPEN with the probe held elsewhere
		return
	}
	p.permit = d.Permit
	p.busy, p.next, p.unsent, p.inflight = true, 0, 0, 0
	r.busy++
	r.outcome.MaxRunning = max(r.outcome.MaxRunning, r.busy)
	p.results, p.outcomes = p.results[:0], p.outcomes[:0]
	p.start = t
	p.fanOutBy = t + r.sc.FunctionTimeout - r.sc.SettleReserve
	// Step 3: the pool over the batch, whose limit the controller moves as calls complete.
	budget := adaptive.Batch{Budget: p.fanOutBy - t, StartBudget: p.fanOutBy - t - r.sc.Timeout}
	if r.sc.Source == SQS {
		p.ctl = adaptive.NewSQSPool(r.pol.Controller, r.state, r.pol.MaxConcurrency, budget, r.pol.SlowCall)
	} else {
		p.ctl = adaptive.NewPool(r.pol.Controller, r.state, r.sc.Pollers, budget, r.pol.SlowCall)
	}
	p.pool = p.ctl.Limit()
	if p.permit != "" {
		// A half-open probe is one call, as the ventilator makes it, of the batch's newest record
		// (the oldest is the likeliest to be a poison record that failed before): the rest waits.
		last := len(p.batch) - 1
		r.retry = append(r.retry, p.batch[:last]...)
		p.batch, p.pool = append(p.batch[:0], p.batch[last]), 1
	}
	ph := r.sc.phaseAt(t)
	st := &r.outcome.Phases[ph]
	st.Batches++
	r.send(i, t)
}

// send starts calls from poller i's batch while its pool has room and the deadline allows, and
// settles the batch when nothing is left in flight.
func (r *runner) send(i int, t time.Duration) {
	p := &r.pollers[i]
	if p.ctl.Age(epoch.Add(t)) && p.permit == "" {
		// The calls in flight have aged past what the provider's baseline allows: as the
		// handler does before it admits a call.
		p.pool = p.ctl.Limit()
		r.markSize(t, p.pool*r.slots())
	}
	for p.inflight < p.pool && p.next < len(p.batch) || p.ctl.Tripped() && p.next < len(p.batch) {
		if !p.ctl.Fits(epoch.Add(t), epoch.Add(p.fanOutBy), r.sc.Timeout) || p.ctl.Tripped() {
			// Out of time: the rest goes back for a retry.
			p.unsent = len(p.batch) - p.next
			r.retry = append(r.retry, p.batch[p.next:]...)
			p.next = len(p.batch)
			break
		}
		rec := p.batch[p.next]
		p.next++
		if !r.sc.NoDedup && r.succ[rec] > 0 {
			continue // step 2: already processed
		}
		r.startCall(i, rec, t)
	}
	if p.inflight == 0 && p.next >= len(p.batch) {
		r.settle(i, t)
	}
}

// startCall sends record rec's call from poller i at t.
func (r *runner) startCall(i, rec int, t time.Duration) {
	id := len(r.calls)
	r.calls = append(r.calls, call{rec: rec, poller: i, sent: t})
	timeout := adaptive.CallTimeout(epoch.Add(t), epoch.Add(r.pollers[i].fanOutBy), r.sc.Timeout)
	if timeout < r.sc.Timeout {
		r.calls[id].cutAt = t + timeout
	}
	r.pollers[i].inflight++
	r.pollers[i].ctl.Start(r.pollers[i].inflight)
	r.pollers[i].ctl.Sent(epoch.Add(t))
	r.setInFlight(t, r.inflight+1)
	ph := r.sc.Phases[r.sc.phaseAt(t)]
	r.outcome.Phases[r.sc.phaseAt(t)].Calls++
	switch {
	case r.isPoison(rec):
		r.clock.schedule(t+r.sc.FailFast, evAnswer, id, 0)
	case ph.Down() || (ph.ErrorRatio > 0 && r.rng.Float64() < ph.ErrorRatio):
		if r.rng.Float64() < ph.HangRatio {
			r.clock.schedule(t+timeout, evTimeout, id, 0)
		} else {
			r.clock.schedule(t+r.sc.FailFast, evAnswer, id, 0)
		}
	default:
		if !r.prov.admit(t, id, r.jitter(ph.Latency).Seconds()) {
			r.calls[id].refused = true
			r.clock.schedule(t+r.sc.FailFast, evAnswer, id, 0)
			return
		}
		r.clock.schedule(t+timeout, evTimeout, id, 0)
	}
}

// jitter multiplies d by a log-normal factor of mean 1.
func (r *runner) jitter(d time.Duration) time.Duration {
	n := r.sc.Noise
	return time.Duration(float64(d) * math.Exp(n*r.rng.NormFloat64()-n*n/2))
}

// answer settles call id at t: ok, or failed (refused when the provider turned it away).
func (r *runner) answer(id int, t time.Duration, ok bool) {
	c := &r.calls[id]
	if c.done {
		return
	}
	c.done = true
	i := c.poller
	p := &r.pollers[i]
	p.inflight--
	r.setInFlight(t, r.inflight-1)
	// Cut by the ventilator's own deadline: the call ran at least StartFactor times the latency
	// expected of it, as telling as a timeout to the controller and the circuit, but it is not
	// the record's fault: it goes back for a retry without an attempt.
	cut := !ok && c.cutAt > 0 && t >= c.cutAt
	lat := t - c.sent
	res := adaptive.Result{OK: ok, Refused: c.refused, Latency: lat}
	if !ok {
		res.Key = strconv.Itoa(c.rec)
	}
	p.results = append(p.results, res)
	if p.ctl.Done(res, epoch.Add(c.sent), epoch.Add(t)) && p.permit == "" {
		p.pool = p.ctl.Limit()
		r.outcome.MaxConcurrency = max(r.outcome.MaxConcurrency, p.pool*r.slots())
		r.markSize(t, p.pool*r.slots())
	}
	if !c.refused {
		// A refusal (429) says the ventilator went past the provider's limit, not that the provider
		// is down: it is the controller's signal, not the circuit's.
		p.outcomes = append(p.outcomes, circuit.Outcome{OK: ok, Latency: lat, Permit: p.permit})
	}
	rec := c.rec
	switch {
	case ok:
		ph := r.sc.phaseAt(t)
		st := &r.outcome.Phases[ph]
		sec := r.secondOf(ph, t)
		if r.succ[rec] > 0 {
			st.Duplicates++
		} else {
			st.Successes[sec]++
		}
		st.OKLatency[sec] += lat
		st.OKCalls[sec]++
		r.succ[rec] = min(r.succ[rec]+1, 255)
		if r.rng.Float64() < r.sc.RedeliveryRatio {
			r.retry = append(r.retry, rec)
		}
	case c.refused:
		r.retry = append(r.retry, rec) // the provider never did it: not an attempt
	case cut:
		r.retry = append(r.retry, rec)
	default:
		r.attempts[rec] = min(r.attempts[rec]+1, 255)
		if int(r.attempts[rec]) >= r.sc.MaxAttempts {
			r.dlq[rec] = true
			if r.isPoison(rec) {
				r.outcome.PoisonDLQ++
			} else {
				r.outcome.HealthyDLQ++
			}
		} else {
			r.retry = append(r.retry, rec)
		}
	}
	r.send(i, t)
}

// settle ends poller i's batch at t: outcomes to the circuit, the batch to the controller, the
// decision to the mapping.
func (r *runner) settle(i int, t time.Duration) {
	p := &r.pollers[i]
	p.busy = false
	r.busy--
	if len(p.outcomes) > 0 {
		r.observe(t, p.outcomes, false)
	}
	if len(p.results) > 0 {
		p.ctl.Settle(p.unsent, t-p.start, epoch.Add(t))
		// The state write: the batch's decisions replayed onto the stored state (the same one
		// unless another poller wrote in between).
		var d adaptive.Decision
		r.state, d = p.ctl.Apply(r.state)
		if r.pol.Trace != nil {
			b := adaptive.Summarize(p.results, r.pol.SlowCall)
			b.Pool, b.Pollers, b.Elapsed, b.Unsent = p.pool, r.slots(), t-p.start, p.unsent
			r.pol.Trace(t, b, r.state, d)
		}
		r.outcome.MaxConcurrency = max(r.outcome.MaxConcurrency, d.Concurrency)
		if d.Trip {
			r.stop(t)
			return
		}
	}
	r.mark(t)
	r.schedulePoll(i, t+r.sc.BatchOverhead)
	if r.sc.Source == SQS {
		r.pollIdle(t + r.sc.BatchOverhead) // the decision may have raised MaximumConcurrency
	}
}

// observe tells the circuit of outcomes at t, as the extension does with reported outcomes and the
// checker with a probe.
func (r *runner) observe(t time.Duration, outs []circuit.Outcome, checked bool) {
	sec := int(t.Seconds())
	for _, o := range outs {
		r.window[sec].Record(o, r.sc.Circuit)
	}
	var w circuit.Counts
	for s := max(0, sec-int(r.sc.Circuit.Window.Seconds())+1); s <= sec; s++ {
		w = w.Add(r.window[s])
	}
	pol := r.sc.Circuit
	if w.Calls >= pol.MinCalls {
		// DESIGN.md: the consecutive-failures rule is the low-traffic rule; above MinCalls the rates
		// decide. internal/circuit gates it the same way (on its window and recent span); this says
		// so for the simulator's own window too.
		pol.ConsecutiveFailures = 0
	}
	res := circuit.Observe(r.circ, circuit.Observation{Outcomes: outs, Window: w, Checked: checked}, pol, epoch.Add(t))
	r.apply(res, t)
}

// apply stores a circuit decision and publishes its transition: a move to HALF_OPEN or CLOSED wakes
// the ventilator through the Circuit State Change event.
func (r *runner) apply(res circuit.Result, t time.Duration) {
	if !res.Changed {
		return
	}
	r.circ = res.Circuit
	to := res.Transition.To
	if to == string(circuit.HalfOpen) || to == string(circuit.Closed) {
		r.clock.schedule(t+r.sc.EventDelay, evWake, wakeEvent, 0)
	}
	if to == string(circuit.Closed) {
		ph := r.sc.phaseAt(t)
		r.outcome.Phases[ph].ClosedAt = t - r.phaseStart[ph]
	}
}

// check is the checker's probe: it moves an OPEN circuit whose retryAt has passed to HALF_OPEN, and
// its outcome is a trial there, an observation when CLOSED.
func (r *runner) check(t time.Duration) {
	r.clock.schedule(t+r.sc.CheckEvery, evCheck, 0, 0)
	ph := r.sc.Phases[r.sc.phaseAt(t)]
	o := circuit.Outcome{OK: !ph.Down(), Latency: ph.Latency, Probe: true}
	if ph.Down() {
		o.Latency, o.Err = r.sc.FailFast, "status 503"
	}
	now := epoch.Add(t)
	if r.circ.State == circuit.Open && !now.Before(r.circ.RetryAt) {
		res, _ := circuit.Acquire(r.circ, "checker", r.sc.Circuit, now)
		r.apply(res, t)
	}
	r.observe(t, []circuit.Outcome{o}, true)
}

// wake is a wake-up (the circuit's event, the backstop schedule or the ventilator's own), as the
// handler's wake does: a stopped ventilator whose circuit allows a call or a probe resumes at the
// smallest concurrency; after a trip of its controller's own, the schedules wait for its WakeAt
// (the circuit's event does not), and the self-wake acts only then and while the circuit is CLOSED.
func (r *runner) wake(kind wakeKind, t time.Duration) {
	switch kind {
	case wakeBackstop:
		r.clock.schedule(t+r.sc.WakeEvery, evWake, wakeBackstop, 0)
	case wakeSelf:
		r.clock.schedule(t+r.sc.SelfWakeEvery, evWake, wakeSelf, 0)
	}
	if r.enabled {
		return
	}
	if kind != wakeEvent && r.state.WakeAt != 0 && epoch.Add(t).UnixMilli() < r.state.WakeAt {
		return
	}
	c := r.circ
	closed := c.Override == circuit.ForcedClosed || c.State == circuit.Closed && c.Override != circuit.ForcedOpen
	if kind == wakeSelf && (r.state.WakeAt == 0 || !closed) {
		return // the circuit's trip, or a circuit that has left CLOSED: its state change wakes
	}
	switch {
	case c.Override == circuit.ForcedOpen:
		return
	case c.State == circuit.Closed, c.State == circuit.HalfOpen:
	case c.State == circuit.Open && !epoch.Add(t).Before(c.RetryAt):
	default:
		return
	}
	r.state, _ = r.pol.Controller.Resume(r.state, epoch.Add(t))
	r.enabled = true
	r.mark(t)
	r.pollIdle(t)
}

// stop disables the mapping at t.
func (r *runner) stop(t time.Duration) {
	r.enabled = false
	ph := r.sc.phaseAt(t)
	if !r.stopped[ph] {
		r.stopped[ph] = true
		st := &r.outcome.Phases[ph]
		st.TripAfter = t - r.phaseStart[ph]
		st.TripBatches = st.Batches
	}
	r.mark(t)
}

// mark records the fleet's concurrency from t on.
func (r *runner) mark(t time.Duration) {
	size := r.state.Concurrency
	if !r.enabled {
		size = 0
	}
	r.markSize(t, size)
}

// markSize records a fleet concurrency of size from t on.
func (r *runner) markSize(t time.Duration, size int) {
	s := r.outcome.Series
	if len(s) > 0 && s[len(s)-1].Size == size {
		return
	}
	r.outcome.Series = append(s, Point{T: t, Size: size})
}

// setInFlight changes the number of calls in flight at t, adding the call-seconds since the last
// change to the seconds they belong to.
func (r *runner) setInFlight(t time.Duration, n int) {
	from := r.areaSince
	for from < t && r.inflight > 0 {
		ph := r.sc.phaseAt(from)
		sec := r.secondOf(ph, from)
		next := min(t, r.phaseStart[ph]+time.Duration(sec+1)*time.Second)
		if next <= from {
			next = t
		}
		r.outcome.Phases[ph].InFlight[sec] += float64(r.inflight) * (next - from).Seconds()
		from = next
	}
	r.areaSince = t
	r.inflight = n
	r.outcome.MaxInFlight = max(r.outcome.MaxInFlight, n)
}

// secondOf is the second of phase ph that t falls in, within the phase's counts.
func (r *runner) secondOf(ph int, t time.Duration) int {
	sec := int((t - r.phaseStart[ph]) / time.Second)
	return min(max(sec, 0), len(r.outcome.Phases[ph].Successes)-1)
}

// countLost checks conservation at the end: every record that arrived has succeeded, or waits, or
// is in a batch in flight, or is in the dead-letter queue.
func (r *runner) countLost() {
	seen := make([]bool, r.arrived)
	for id, n := range r.succ {
		seen[id] = n > 0 || r.dlq[id]
	}
	for _, id := range r.retry {
		seen[id] = true
	}
	for i := range r.pollers {
		for _, id := range r.pollers[i].batch {
			seen[id] = true
		}
	}
	for _, ok := range seen {
		if !ok {
			r.outcome.Lost++
		}
	}
}
