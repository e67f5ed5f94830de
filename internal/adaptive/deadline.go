package adaptive

import "time"

// StartFactor is how many times the latency a call is expected to take must fit between its start
// and the fan-out's deadline: room for the provider's noise, and for a provider that slows down by
// up to that factor while the call runs.
const StartFactor = 2

// Expected is the latency a call started now is expected to take: the higher of the latest
// latency the controller measured and its no-load baseline; 0 while neither is known.
func (p *Pool) Expected() time.Duration {
	return max(p.state.Recent, p.state.Baseline)
}

// Fits reports whether a call started at now may start before deadline, the moment by which every
// call must be over: when StartFactor times the latency expected of it ([Pool.Expected]) ends by
// then, or, while no latency is known, its own timeout does. So a slow provider's invocation keeps
// its pool busy until near its deadline instead of one call timeout before it; a call still running
// at the deadline is the ventilator's to cut, and to give back without charging anyone (see
// [CallTimeout]).
func (p *Pool) Fits(now, deadline time.Time, timeout time.Duration) bool {
	return !now.Add(startWindow(p.Expected(), timeout)).After(deadline)
}

// CallTimeout is the bound of a call started at now: its own timeout, or less when the deadline
// comes first. A call that reaches a bound shorter than timeout was cut by the ventilator's
// deadline, not timed out by the provider: it says nothing of the provider or of the record.
func CallTimeout(now, deadline time.Time, timeout time.Duration) time.Duration {
	return max(min(timeout, deadline.Sub(now)), 0)
}

// startWindow is the time a call needs before the deadline to be started: StartFactor times the
// expected latency, never more than the call's own timeout, which bounds it anyway.
func startWindow(expected, timeout time.Duration) time.Duration {
	if expected <= 0 {
		return timeout
	}
	return min(timeout, StartFactor*expected)
}
