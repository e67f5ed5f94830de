package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Circuit is the extension's view of a circuit.
type Circuit struct {
	ID string `json:"id"`
	// State is CLOSED, OPEN or HALF_OPEN.
	State string `json:"state"`
	// Allowed is whether a call without a permit may go out now.
	Allowed bool      `json:"allowed"`
	Since   time.Time `json:"since"`
	// RetryAt is when an OPEN circuit may go HALF_OPEN (zero otherwise).
	RetryAt time.Time `json:"retryAt"`
	Reason  string    `json:"reason"`
	Version int64     `json:"version"`
	// Override is FORCED_OPEN or FORCED_CLOSED when an operator set one.
	Override string `json:"override"`
	// Stale is true when the extension could not read DynamoDB and this is its last good copy.
	Stale bool  `json:"stale"`
	AgeMs int64 `json:"ageMs"`
}

// State reads a circuit. An unknown circuit is an error matching ErrNotFound.
func (c *Client) State(ctx context.Context, id string) (Circuit, error) {
	var out Circuit
	if err := validID(id); err != nil {
		return out, err
	}
	if off, err := c.disabled(); err != nil || off {
		if err == nil {
			err = ErrDisabled
		}
		return out, err
	}
	err := c.call(ctx, "GET", circuitPath(id), nil, &out)
	return out, err
}

// ErrDisabled is State's error while BREAKERBOX_DISABLED=true: there is no circuit to read.
var ErrDisabled = errors.New("breakerbox: disabled (BREAKERBOX_DISABLED=true): no circuit state to read")

// Decision is the answer to Acquire.
type Decision struct {
	Allowed bool `json:"allowed"`
	// State is the circuit's state, UNKNOWN, or DISABLED while BREAKERBOX_DISABLED=true.
	State    string `json:"state"`
	Override string `json:"override"`
	// Permit is set when this caller holds a half-open probe permit: pass it back with the outcome.
	Permit string `json:"permit"`
	// Call names an allowed call: pass it back with the outcome (Outcome.Call), so that the
	// extension knows which call ended. Until then the call is known to be under way, and it counts
	// as slow as soon as it has run longer than the slow-call threshold.
	Call string `json:"call"`
	// RetryAt is when a denied caller may try again (zero when unknown).
	RetryAt time.Time `json:"retryAt"`
	Stale   bool      `json:"stale"`
	Reason  string    `json:"reason"`
	// Unreachable is true when the extension gave no usable answer; Allowed then follows the fail mode.
	Unreachable bool `json:"-"`
}

// Acquire asks whether a call to circuit id may go out now. The Decision is always usable: when the
// extension cannot answer, Allowed follows the fail mode and the error says why. Only an invalid id
// returns a Decision that denies regardless of the fail mode (and so does a BREAKERBOX_DISABLED value
// that is neither true nor false, and a ctx that ended before the answer: the error then matches
// ctx.Err(), and the extension is not counted as unreachable). While BREAKERBOX_DISABLED=true it allows without asking.
//
// The first time the extension gives no answer the client logs a warning (once per process, again
// if the extension comes back and goes away), and every such call adds to UnreachableCalls.
func (c *Client) Acquire(ctx context.Context, id string) (Decision, error) {
	return c.acquire(ctx, id, nil)
}

// batchAcquire is acquire's body for a batch of calls reported together.
var batchAcquire = struct {
	Call bool `json:"call"`
}{Call: false}

// AcquireBatch is Acquire for a batch of calls made under one answer and reported together (as the
// ventilator fans a batch out): the extension names no call (Decision.Call is empty), so none of
// them counts as slow before its outcome comes back. Acquire names one call, which the extension
// counts as slow once it has run past the slow-call threshold without its outcome, and a batch that
// takes longer than that would be counted slow however fast its calls were.
func (c *Client) AcquireBatch(ctx context.Context, id string) (Decision, error) {
	return c.acquire(ctx, id, batchAcquire)
}

func (c *Client) acquire(ctx context.Context, id string, body any) (Decision, error) {
	if err := validID(id); err != nil {
		return Decision{State: "UNKNOWN", Reason: err.Error()}, err
	}
	if off, err := c.disabled(); err != nil {
		return Decision{State: "UNKNOWN", Reason: err.Error()}, err
	} else if off {
		return Decision{Allowed: true, State: "DISABLED", Reason: EnvDisabled + "=true"}, nil
	}
	var d Decision
	if err := c.call(ctx, "POST", circuitPath(id)+"/acquire", body, &d); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// The caller's own cancellation or deadline, not the extension's silence: it is no
			// outage to warn about or count, and the call should not go out.
			err = fmt.Errorf("breakerbox: acquire %s: caller's context ended: %w", id, cerr)
			return Decision{State: "UNKNOWN", Reason: err.Error()}, err
		}
		c.unreachableNow(err)
		return c.failDecision(err), err
	}
	c.reachableNow()
	return d, nil
}

func (c *Client) failDecision(err error) Decision {
	mode := "open"
	if !c.failOpen {
		mode = "closed"
	}
	return Decision{Allowed: c.failOpen, State: "UNKNOWN", Unreachable: true, Reason: "extension gave no answer (" + err.Error() + "); fail mode " + mode}
}

// Outcome is how one call went.
type Outcome struct {
	OK      bool
	Latency time.Duration
	// Permit is the half-open permit the call was made under, from Decision.Permit.
	Permit string
	// Call is the call's name from Decision.Call. Without it the extension matches the outcome to
	// the call under way whose start is nearest to (now − Latency).
	Call string
	// Err classifies a failure in a few words ("timeout", "status 503"); optional.
	Err string
}

type outcomeJSON struct {
	OK        bool    `json:"ok"`
	LatencyMs float64 `json:"latencyMs"`
	Permit    string  `json:"permit,omitempty"`
	Call      string  `json:"call,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// Report sends outcomes of calls to circuit id. The extension answers at once and writes them to
// DynamoDB in its next flush.
func (c *Client) Report(ctx context.Context, id string, outcomes ...Outcome) error {
	if err := validID(id); err != nil {
		return err
	}
	if off, err := c.disabled(); err != nil || off || len(outcomes) == 0 {
		return err
	}
	body := struct {
		Outcomes []outcomeJSON `json:"outcomes"`
	}{make([]outcomeJSON, len(outcomes))}
	for i, o := range outcomes {
		body.Outcomes[i] = outcomeJSON{OK: o.OK, LatencyMs: float64(o.Latency) / float64(time.Millisecond), Permit: o.Permit, Call: o.Call, Error: o.Err}
	}
	return c.call(ctx, "POST", circuitPath(id)+"/outcomes", body, nil)
}

// Cancel tells the extension that the call decision d allowed on circuit id was not made, or was
// cancelled by its caller (a cancellation says nothing of the downstream): it counts nothing, where a
// call acquired and never reported counts as slow once it has run past BREAKERBOX_SLOW_CALL, and a
// probe's permit is given back at once rather than holding HALF_OPEN's slot until its lease ends.
// Nothing is sent for a decision that named no call and holds no permit (denied, decided without
// the extension, DISABLED, or a batch's, from AcquireBatch). Do cancels by itself when its ctx is
// cancelled.
func (c *Client) Cancel(ctx context.Context, id string, d Decision) error {
	if err := validID(id); err != nil {
		return err
	}
	if d.Call == "" && d.Permit == "" {
		return nil
	}
	if off, err := c.disabled(); err != nil || off {
		return err
	}
	type cancelled struct {
		Call      string `json:"call,omitempty"`
		Permit    string `json:"permit,omitempty"`
		Cancelled bool   `json:"cancelled"`
	}
	body := struct {
		Outcomes [1]cancelled `json:"outcomes"`
	}{[1]cancelled{{d.Call, d.Permit, true}}}
	return c.call(ctx, "POST", circuitPath(id)+"/outcomes", body, nil)
}

// ErrOpen matches (errors.Is) the error Do returns when the circuit denies the call.
var ErrOpen = errors.New("breakerbox: circuit open")

// OpenError is returned by Do when the circuit denies the call; errors.Is(err, ErrOpen) is true.
type OpenError struct {
	ID       string
	Decision Decision
	// Cause is why the fail mode applied, when the extension could not answer.
	Cause error
}

// Error says which circuit denied the call and why.
func (e *OpenError) Error() string {
	msg := "breakerbox: circuit " + e.ID + " denies the call (" + e.Decision.State
	if !e.Decision.RetryAt.IsZero() {
		msg += ", retry at " + e.Decision.RetryAt.UTC().Format(time.RFC3339)
	}
	if e.Decision.Reason != "" {
		msg += ": " + e.Decision.Reason
	}
	return msg + ")"
}

// Is makes errors.Is(err, ErrOpen) true.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// Unwrap returns the cause, if any.
func (e *OpenError) Unwrap() error { return e.Cause }

// Do acquires, runs fn when allowed, times it and reports the outcome (with the call's name and the
// permit, if one was granted), and returns fn's error. When the circuit denies the call it returns an *OpenError
// (errors.Is(err, ErrOpen)) without running fn. A call cut off by ctx's deadline is reported as a
// failure ("timeout"): a downstream that hangs until the function's deadline is the commonest failure
// there is. A cancellation of ctx counts nothing, as it says nothing about the downstream: Do tells
// the extension so (Cancel). While BREAKERBOX_DISABLED=true, Do runs fn and reports nothing.
func (c *Client) Do(ctx context.Context, id string, fn func(ctx context.Context) error) error {
	d, err := c.Acquire(ctx, id)
	if errors.Is(err, ErrInvalidID) || errors.Is(err, ErrConfig) || (err != nil && !d.Unreachable && ctx.Err() != nil) {
		return err
	}
	if d.State == "DISABLED" {
		return fn(ctx)
	}
	if !d.Allowed {
		return &OpenError{ID: id, Decision: d, Cause: err}
	}
	start := time.Now()
	ferr := fn(ctx)
	lat := time.Since(start)
	if d.Unreachable {
		return ferr
	}
	if ferr != nil && errors.Is(ctx.Err(), context.Canceled) {
		// Best effort, as a report is: not cancelled with ctx, but within its deadline (the
		// invocation's), which a cancellation has not reached.
		cctx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
		if end, ok := ctx.Deadline(); ok {
			cctx, cancel = context.WithDeadline(cctx, end)
		}
		_ = c.Cancel(cctx, id, d)
		cancel()
		return ferr
	}
	o := Outcome{OK: ferr == nil || !c.isFailure(ferr), Latency: lat, Permit: d.Permit, Call: d.Call}
	switch {
	case ferr != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		o.OK, o.Err = false, "timeout: "+shortError(ferr) // cut off by the caller's deadline: a hang
	case !o.OK:
		o.Err = shortError(ferr)
	}
	_ = c.Report(context.WithoutCancel(ctx), id, o) // the outcome is best effort; fn's result is what matters
	return ferr
}

// shortError keeps the first line of err, at most 120 bytes, for the circuit's reason.
func shortError(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
