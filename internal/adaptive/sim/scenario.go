package sim

import (
	"errors"
	"fmt"
	"time"
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

// Discipline is how the provider shares its capacity among more than Capacity calls.
type Discipline int

const (
	// Shared (processor sharing): n > C calls in flight each progress at C/n of full speed, so every
	// call waits a little more as the provider gets busier.
	Shared Discipline = iota
	// FIFO: C calls run at full speed and the others wait their turn in arrival order.
	FIFO
)

// String names the discipline as the -queue flag of cmd/sim spells it.
func (d Discipline) String() string {
	if d == FIFO {
		return "fifo"
	}
	return "shared"
}

// ParseDiscipline reads "shared" or "fifo".
func ParseDiscipline(s string) (Discipline, error) {
	switch s {
	case "shared":
		return Shared, nil
	case "fifo":
		return FIFO, nil
	}
	return Shared, fmt.Errorf("sim: unknown queue discipline %q (want shared or fifo)", s)
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
	// Timeout is the ventilator's timeout for one call; a call still running then fails.
	Timeout time.Duration
	// FailFast is the latency of a failing call that does not hang.
	FailFast time.Duration
	// BatchOverhead is the time the event source mapping and the ventilator spend per batch besides
	// the calls (poll, invoke, dedup, state write).
	BatchOverhead time.Duration
	// WakeEvery is the period of the schedule that resumes a tripped ventilator (rate(10 minutes)).
	WakeEvery time.Duration
	// WakeOffset is when the schedule first fires; it is not aligned with the phases.
	WakeOffset time.Duration
	// RedeliveryRatio is the share of successful records that the event source delivers a second
	// time (at-least-once delivery), for the ventilator's dedup to catch.
	RedeliveryRatio float64
	// Discipline is how the provider queues calls beyond its capacity.
	Discipline Discipline
	// NoDedup turns the ventilator's dedup off, to show what it prevents.
	NoDedup bool
}

// DefaultScenario is the four-phase scenario of `make sim`: healthy (C = 8, 200 ms), degraded (C = 3,
// latency x3), outage (every call fails fast or hangs) and recovered (C = 8), 20 virtual minutes
// each, with more records arriving than the healthy provider can take.
func DefaultScenario() Scenario {
	const base = 200 * time.Millisecond
	return Scenario{
		Seed: 1,
		Phases: []Phase{
			{Name: "healthy", Duration: 20 * time.Minute, Capacity: 8, Latency: base},
			{Name: "degraded", Duration: 20 * time.Minute, Capacity: 3, Latency: 3 * base},
			{Name: "outage", Duration: 20 * time.Minute, ErrorRatio: 1, HangRatio: 0.5},
			{Name: "recovered", Duration: 20 * time.Minute, Capacity: 8, Latency: base},
		},
		ArrivalRate:     50,
		Noise:           0.1,
		Timeout:         3 * time.Second,
		FailFast:        50 * time.Millisecond,
		BatchOverhead:   10 * time.Millisecond,
		WakeEvery:       10 * time.Minute,
		WakeOffset:      3 * time.Minute,
		RedeliveryRatio: 0.01,
		Discipline:      Shared,
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
	if s.Timeout <= 0 || s.WakeEvery <= 0 {
		errs = append(errs, errors.New("timeout and wake-up period must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sim: invalid scenario: %w", err)
	}
	return nil
}
