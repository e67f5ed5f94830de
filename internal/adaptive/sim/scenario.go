package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Phase is a stretch of the scenario during which the provider behaves one way.
type Phase struct {
	// Name labels the phase in the results.
	Name string
	// Duration is the phase's virtual length.
	Duration time.Duration
	// Capacity is how many calls the provider serves at full speed at once (C); 0 when it is down.
	Capacity int
	// Latency is the provider's base latency for one call at full speed.
	Latency time.Duration
	// ErrorRatio is the share of calls that fail; 1 is an outage.
	ErrorRatio float64
	// HangRatio is the share of failing calls that hang until the caller's timeout rather than fail
	// fast.
	HangRatio float64
}

// Down reports whether every call fails in the phase.
func (p Phase) Down() bool { return p.ErrorRatio >= 1 }

// Optimum is the best goodput the provider allows in the phase, C / base latency, in records per
// minute; 0 when it is down.
func (p Phase) Optimum() float64 {
	if p.Down() || p.Capacity <= 0 || p.Latency <= 0 {
		return 0
	}
	return float64(p.Capacity) / p.Latency.Minutes()
}

// Discipline is how the provider treats more than Capacity calls in flight.
type Discipline int

const (
	// Shared (processor sharing): n > C calls in flight each progress at C/n of full speed, so every
	// call waits a little more as the provider gets busier.
	Shared Discipline = iota
	// FIFO: C calls run at full speed and the others wait their turn in arrival order.
	FIFO
	// Limited: C calls run at full speed and any call beyond is refused at once (429), like a
	// rate-limited API.
	Limited
)

// Disciplines lists every discipline, in the order `make sim` plays them.
var Disciplines = []Discipline{Shared, FIFO, Limited}

// String names the discipline as the -queue flag of cmd/sim spells it.
func (d Discipline) String() string {
	switch d {
	case FIFO:
		return "fifo"
	case Limited:
		return "limited"
	}
	return "shared"
}

// ParseDiscipline reads "shared", "fifo" or "limited".
func ParseDiscipline(s string) (Discipline, error) {
	return parseName(s, Disciplines, "queue discipline")
}

// Scenario describes the load, the provider and the Lambda plumbing around the ventilator.
type Scenario struct {
	// Seed makes every random draw reproducible.
	Seed uint64
	// Phases follow each other from virtual time 0.
	Phases []Phase
	// ArrivalRate is how many records per second arrive in the stream or queue.
	ArrivalRate float64
	// Noise is the standard deviation of the log of a call's work (a log-normal with mean 1).
	Noise float64
	// Timeout is the ventilator's timeout for one worker call; a call still running then fails.
	Timeout time.Duration
	// FailFast is the latency of a failing call that does not hang, and of a refusal.
	FailFast time.Duration
	// BatchOverhead is the time the event source mapping and the ventilator spend per batch besides
	// the calls (poll, invoke, acquire, dedup, settle).
	BatchOverhead time.Duration
	// FunctionTimeout is the ventilator's Lambda timeout; SettleReserve is kept of it for the settle
	// step, and no call starts later than Timeout before that.
	FunctionTimeout, SettleReserve time.Duration
	// Source is the event source: Kinesis (the default) or SQS.
	Source Source
	// Pollers is how many ventilators run at once over the one controller state on Kinesis (shards
	// times the parallelization factor); each runs a pool of its share of the concurrency. SQS sets
	// its own from the concurrency (see SQS).
	Pollers int
	// CheckEvery is the checker's schedule; CheckOffset when it first fires.
	CheckEvery, CheckOffset time.Duration
	// WakeEvery is the period of the backstop schedule that wakes a tripped ventilator
	// (rate(10 minutes)); WakeOffset when it first fires.
	WakeEvery, WakeOffset time.Duration
	// SelfWakeEvery is the period of the ventilator's own schedule (SelfWake, rate(1 minute)), which
	// resumes a ventilator its controller tripped once the trip's WakeAt has passed, whatever the
	// circuit did; 0 for none. Its first tick falls at a second of the period drawn from the seed
	// (the rule's phase is nobody's choice), so a sweep over seeds meets the late ticks too.
	SelfWakeEvery time.Duration
	// EventDelay is how long the circuit's Circuit State Change event takes to wake the ventilator
	// through EventBridge.
	EventDelay time.Duration
	// RetryDelay is how long Lambda waits before it delivers again a batch returned whole (a
	// HALF_OPEN denial).
	RetryDelay time.Duration
	// MaxAttempts is the number of failed calls after which a record goes to the dead-letter queue.
	MaxAttempts int
	// PoisonEvery makes one record in PoisonEvery a poison record whose call always fails; 0 for none.
	PoisonEvery int
	// RedeliveryRatio is the share of successful records that the event source delivers a second
	// time (at-least-once delivery), for the ventilator's dedup to catch.
	RedeliveryRatio float64
	// Discipline is how the provider treats calls beyond its capacity.
	Discipline Discipline
	// NoDedup turns the ventilator's dedup off, to show what it prevents.
	NoDedup bool
	// Circuit is the circuit's policy (per-circuit knobs included).
	Circuit circuit.Policy
}

// MaxFunctionTimeout is Lambda's largest function timeout; MaxCallTimeout the largest worker call
// timeout the scenarios use, so that a ventilator of 15 minutes starts calls for 7 of them.
const (
	MaxFunctionTimeout = 15 * time.Minute
	MaxCallTimeout     = 450 * time.Second
)

// DefaultScenario is the four-phase scenario of `make sim` for a provider of base latency base:
// healthy (C = 8), degraded (C = 3, latency x3), outage (every call fails fast or hangs) and
// recovered (C = 8), with 25 % more records arriving than the healthy provider can take. Phases last
// 20 virtual minutes; 2 for a provider faster than 50 ms (it converges in milliseconds, and its
// record count would make the run slow), 2 hours for one slower than 2 s (20 minutes are only 40
// round trips of 30 s); timeouts and the slow-call threshold scale with base.
func DefaultScenario(base time.Duration, d Discipline) Scenario {
	phase := 20 * time.Minute
	switch {
	case base < 50*time.Millisecond:
		phase = 2 * time.Minute
	case base > 2*time.Second:
		phase = 2 * time.Hour // 240 calls' time: a 30 s provider has some 40 round trips in 20 minutes
	}
	slow := max(time.Second, 5*base)
	// Lambda runs a function for 15 minutes at most: the ventilator's timeout, and the worker
	// call's within it (7.5 minutes, twice a degraded 70 s provider's latency), cannot grow with
	// base beyond.
	timeout := min(max(3*time.Second, 15*base), MaxCallTimeout)
	fnTimeout := min(max(time.Minute, 30*base), MaxFunctionTimeout)
	pol := circuit.DefaultPolicy()
	pol.SlowCall = slow
	// The circuit retries every 30 s however long the outage, so that recovery is paced by the
	// checker's minute, not by a back-off grown to 10 minutes.
	pol.MaxOpenDuration = pol.OpenDuration
	pol.ProbeLease = max(pol.ProbeLease, timeout)
	return Scenario{
		Seed: 1,
		Phases: []Phase{
			{Name: "healthy", Duration: phase, Capacity: 8, Latency: base},
			{Name: "degraded", Duration: phase, Capacity: 3, Latency: 3 * base},
			{Name: "outage", Duration: phase, ErrorRatio: 1, HangRatio: 0.5},
			{Name: "recovered", Duration: phase, Capacity: 8, Latency: base},
		},
		ArrivalRate:     1.25 * 8 / base.Seconds(),
		Noise:           0.1,
		Timeout:         timeout,
		FailFast:        min(50*time.Millisecond, base),
		BatchOverhead:   10 * time.Millisecond,
		FunctionTimeout: fnTimeout,
		SettleReserve:   10 * time.Second,
		Pollers:         1,
		CheckEvery:      time.Minute,
		CheckOffset:     17 * time.Second,
		WakeEvery:       10 * time.Minute,
		WakeOffset:      3 * time.Minute,
		SelfWakeEvery:   time.Minute,
		EventDelay:      2 * time.Second,
		RetryDelay:      time.Second,
		MaxAttempts:     3,
		PoisonEvery:     1000,
		RedeliveryRatio: 0.01,
		Discipline:      d,
		Circuit:         pol,
	}
}

// Duration is the total virtual length of the scenario.
func (s Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += p.Duration
	}
	return d
}

// phaseAt returns the index of the phase running at virtual time t (the last one past the end).
func (s Scenario) phaseAt(t time.Duration) int {
	var end time.Duration
	for i, p := range s.Phases {
		end += p.Duration
		if t < end {
			return i
		}
	}
	return len(s.Phases) - 1
}

// phaseStart returns the virtual time at which phase i begins.
func (s Scenario) phaseStart(i int) time.Duration {
	var start time.Duration
	for _, p := range s.Phases[:i] {
		start += p.Duration
	}
	return start
}

// Validate reports what makes the scenario unplayable.
func (s Scenario) Validate() error {
	var errs []error
	if len(s.Phases) == 0 {
		errs = append(errs, errors.New("no phase"))
	}
	for i, p := range s.Phases {
		if p.Duration <= 0 {
			errs = append(errs, fmt.Errorf("phase %d (%s): duration must be positive", i, p.Name))
		}
		if !p.Down() && (p.Capacity < 1 || p.Latency <= 0) {
			errs = append(errs, fmt.Errorf("phase %d (%s): a provider that is up needs a capacity and a latency", i, p.Name))
		}
	}
	if s.ArrivalRate <= 0 {
		errs = append(errs, errors.New("arrival rate must be positive"))
	}
	if s.Timeout <= 0 || s.WakeEvery <= 0 || s.CheckEvery <= 0 {
		errs = append(errs, errors.New("timeout, wake-up and check periods must be positive"))
	}
	if s.SelfWakeEvery < 0 {
		errs = append(errs, errors.New("the self-wake period must not be negative"))
	}
	if s.FunctionTimeout <= s.Timeout+s.SettleReserve {
		errs = append(errs, errors.New("the function timeout must exceed the call timeout plus the settle reserve"))
	}
	if s.Source == Kinesis && s.Pollers < 1 || s.MaxAttempts < 1 {
		errs = append(errs, errors.New("pollers and max attempts must be at least 1"))
	}
	if err := s.Circuit.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sim: invalid scenario: %w", err)
	}
	return nil
}
