package circuit

import "time"

// Circuit is one circuit's persisted state. The zero value (Version 0) is a circuit that does not
// exist yet; the first observation creates it.
type Circuit struct {
	ID       string
	State    State
	Override Override
	// Version grows by exactly one with every write; the store writes on condition of the old one.
	Version int64
	// Since is when State last changed.
	Since time.Time
	// RetryAt is when an OPEN circuit may go HALF_OPEN. Zero in every other state.
	RetryAt time.Time
	// OpenCount counts opens since the circuit was last CLOSED; it drives the backoff.
	OpenCount int
	// Reason says in words why the circuit is in its state.
	Reason string
	// ConsecutiveFailures counts failures in a row while CLOSED.
	ConsecutiveFailures int
	// Probes are the live half-open permits.
	Probes []Probe
	// ProbeSuccesses counts successful probes in the current HALF_OPEN.
	ProbeSuccesses int
	UpdatedAt      time.Time
	// Last check result (from the checker or the last reported outcome).
	CheckedAt     time.Time
	LastLatencyMs int64
	LastError     string
	// BadSince and BadUntil mark the circuit's window as holding a failure or a slow call somewhere in
	// the fleet (zero: no mark). The environment that flushes one sets the mark; every environment
	// reads it with the circuit (once per cache TTL) and, while it is live, flushes its successes too,
	// so the window's counts become the fleet's. BadUntil is a window after the last marked failure;
	// BadSince is when the mark was set after having lapsed (see Policy.FleetWindow).
	BadSince, BadUntil time.Time
	// Unpublished are transitions written but not published to EventBridge yet (a publish failed);
	// the next part that writes the circuit publishes them (events.Outbox). Oldest first.
	Unpublished []Transition
	// Policy holds this circuit's own knobs, applied over the environment's with Policy.WithOverrides.
	Policy map[string]string
	// WriteTokens are the store's marks of the latest writes of the item, oldest first (the store
	// keeps a few dozen). A conditional write whose answer was lost and that the SDK retried fails
	// its own condition; finding its token here, even after other writers wrote over it, tells the
	// store it succeeded the first time. Only the store sets them; a circuit derived from one read
	// carries them to the next write.
	WriteTokens []string
}

// Probe is a half-open permit: whoever holds it may send one call while the lease lasts.
type Probe struct {
	Permit string
	Until  time.Time
}

// Exists reports whether the circuit has ever been written.
func (c *Circuit) Exists() bool { return c.Version > 0 }

// Effective is what callers should do: the override when set, else the automatic state.
func (c *Circuit) Effective() State {
	switch c.Override {
	case ForcedOpen:
		return Open
	case ForcedClosed:
		return Closed
	}
	return c.State
}

// AllowsCalls reports whether a caller without a permit may call now. HALF_OPEN lets only permit
// holders through, so it answers false here; Acquire decides who gets a permit.
func (c *Circuit) AllowsCalls() bool { return c.Effective() == Closed }

// liveProbes returns the probes whose lease has not run out, reusing the slice only when none expired.
func (c *Circuit) liveProbes(now time.Time) ([]Probe, bool) {
	expired := 0
	for _, p := range c.Probes {
		if !now.Before(p.Until) {
			expired++
		}
	}
	if expired == 0 {
		return c.Probes, false
	}
	live := make([]Probe, 0, len(c.Probes)-expired)
	for _, p := range c.Probes {
		if now.Before(p.Until) {
			live = append(live, p)
		}
	}
	return live, true
}
