package circuit

import "fmt"

// State is a circuit's automatic state.
type State string

// The three states. OPEN means "do not call", as in every standard breaker.
const (
	Closed   State = "CLOSED"
	Open     State = "OPEN"
	HalfOpen State = "HALF_OPEN"
)

// ParseState accepts exactly one of the three state names. Anything else is an error: an unknown
// state is never read as CLOSED.
func ParseState(s string) (State, error) {
	switch State(s) {
	case Closed, Open, HalfOpen:
		return State(s), nil
	}
	return "", fmt.Errorf("unknown circuit state %q: want CLOSED, OPEN or HALF_OPEN", s)
}

// Override is an operator's manual setting that wins over automatic transitions.
type Override string

// Overrides. None is the zero value.
const (
	NoOverride   Override = ""
	ForcedOpen   Override = "FORCED_OPEN"
	ForcedClosed Override = "FORCED_CLOSED"
)

// ParseOverride accepts "", FORCED_OPEN or FORCED_CLOSED.
func ParseOverride(s string) (Override, error) {
	switch Override(s) {
	case NoOverride, ForcedOpen, ForcedClosed:
		return Override(s), nil
	}
	return "", fmt.Errorf("unknown override %q: want FORCED_OPEN, FORCED_CLOSED or none", s)
}
