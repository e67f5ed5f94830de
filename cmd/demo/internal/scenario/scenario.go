// Package scenario is the demo's compressed clock: the provider's phases (healthy, degraded, down,
// recovered), each with a length and a failure mix, and which phase a moment falls in.
package scenario

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Phase is one stretch of the provider's life.
type Phase struct {
	// Name is shown in the timeline and the chart: "healthy", "degraded", "down", "recovered".
	Name string
	// Duration is the phase's length on the wall clock.
	Duration time.Duration
	// ErrorRate is the share of calls that fail (0 to 1).
	ErrorRate float64
	// SlowRate is the share of calls that succeed but only after the slow delay (0 to 1).
	SlowRate float64
	// Healthy is what the provider's health endpoint says during the phase. A degraded provider
	// usually still answers its health check; a down one does not.
	Healthy bool
}

// Describe says in words what the provider does during the phase.
func (p Phase) Describe(slowDelay time.Duration) string {
	var parts []string
	if p.ErrorRate > 0 {
		parts = append(parts, fmt.Sprintf("%s of calls fail", percent(p.ErrorRate)))
	}
	if p.SlowRate > 0 {
		parts = append(parts, fmt.Sprintf("%s take %s", percent(p.SlowRate), slowDelay))
	}
	if len(parts) == 0 {
		parts = append(parts, "every call succeeds quickly")
	}
	if !p.Healthy {
		parts = append(parts, "health check fails")
	}
	return strings.Join(parts, ", ")
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// Scenario is the provider's phases in order.
type Scenario struct {
	// Phases follow one another; the last one lasts beyond the end.
	Phases []Phase
}

// Validate reports every problem of s at once.
func (s Scenario) Validate() error {
	var errs []error
	if len(s.Phases) == 0 {
		errs = append(errs, errors.New("scenario: no phase"))
	}
	for _, p := range s.Phases {
		if p.Name == "" {
			errs = append(errs, errors.New("scenario: a phase has no name"))
		}
		if p.Duration <= 0 {
			errs = append(errs, fmt.Errorf("scenario: phase %s: length %s: want more than 0", p.Name, p.Duration))
		}
		if p.ErrorRate < 0 || p.ErrorRate > 1 || p.SlowRate < 0 || p.SlowRate > 1 {
			errs = append(errs, fmt.Errorf("scenario: phase %s: error and slow rates must be between 0 and 1, got %v and %v", p.Name, p.ErrorRate, p.SlowRate))
		}
		if p.ErrorRate+p.SlowRate > 1 {
			errs = append(errs, fmt.Errorf("scenario: phase %s: error rate %v plus slow rate %v is more than 1", p.Name, p.ErrorRate, p.SlowRate))
		}
	}
	return errors.Join(errs...)
}

// Duration is the total length of the phases.
func (s Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += p.Duration
	}
	return d
}

// Offset is when phase i starts, from the scenario's start; len(Phases) gives the end.
func (s Scenario) Offset(i int) time.Duration {
	var d time.Duration
	for j := 0; j < i && j < len(s.Phases); j++ {
		d += s.Phases[j].Duration
	}
	return d
}

// Index is the phase at elapsed time since the start: the first phase before the start and the last
// one after the end, so the provider keeps its final behaviour while the demo drains.
func (s Scenario) Index(elapsed time.Duration) int {
	var end time.Duration
	for i, p := range s.Phases {
		end += p.Duration
		if elapsed < end {
			return i
		}
	}
	return len(s.Phases) - 1
}

// Find returns the index of the first phase with the given name, or -1.
func (s Scenario) Find(name string) int {
	for i, p := range s.Phases {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// Clock is a Scenario on the wall clock. Before Start it stays at the start of the first phase.
type Clock struct {
	Scenario
	now func() time.Time

	mu      sync.Mutex
	started time.Time
}

// NewClock returns a Clock for s that has not started; now nil means time.Now.
func NewClock(s Scenario, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{Scenario: s, now: now}
}

// Start starts the clock now and returns that moment.
func (c *Clock) Start() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = c.now()
	return c.started
}

// Started is when the clock started; zero before Start.
func (c *Clock) Started() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// Elapsed is the time since the start, 0 before Start.
func (c *Clock) Elapsed() time.Duration {
	start := c.Started()
	if start.IsZero() {
		return 0
	}
	return c.now().Sub(start)
}

// Current returns the index and the phase the scenario is in now.
func (c *Clock) Current() (int, Phase) {
	i := c.Index(c.Elapsed())
	return i, c.Phases[i]
}

// Left is the time left in the current phase.
func (c *Clock) Left() time.Duration {
	i, _ := c.Current()
	return max(c.Offset(i+1)-c.Elapsed(), 0)
}

// Over reports whether the clock started and every phase has ended.
func (c *Clock) Over() bool { return !c.Started().IsZero() && c.Elapsed() >= c.Duration() }
