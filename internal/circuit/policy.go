package circuit

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Buckets is the number of time buckets the sliding window is cut into. The window's current,
// partly filled bucket is one of them.
const Buckets = 6

// MaxOpenLimit is the longest open duration a policy may ask for. It keeps every open duration, with
// its jitter and added to any time a circuit can hold, far from overflowing a time.Duration.
const MaxOpenLimit = 7 * 24 * time.Hour

// Jitter is the ± fraction applied to every open duration so a fleet does not retry in step.
const Jitter = 0.10

// Policy decides when a circuit trips, how long it stays open and how it closes again.
type Policy struct {
	// FailureRate trips CLOSED → OPEN when failures/calls ≥ it over the window (0 < r ≤ 1) ...
	FailureRate float64
	// MinCalls ... and at least this many calls were seen in the window.
	MinCalls int64
	// ConsecutiveFailures trips CLOSED → OPEN after this many failures in a row; 0 disables the rule.
	ConsecutiveFailures int
	// RecentSpan is the short recent span judged alone (0 disables the rule): CLOSED → OPEN when the
	// calls of the last RecentSpan (the window if shorter), at least MinCalls of them and every one
	// known, prove the failure (or slow-call) rate at or above its threshold with a lower confidence
	// bound (RecentReason).
	RecentSpan time.Duration
	// SlowCall is the duration above which a call counts as slow.
	SlowCall time.Duration
	// SlowCallRate trips CLOSED → OPEN when slow/calls ≥ it over the window (with MinCalls).
	SlowCallRate float64
	// Window is the sliding window's length, cut into Buckets buckets.
	Window time.Duration
	// OpenDuration is how long the first OPEN lasts before HALF_OPEN may be tried.
	OpenDuration time.Duration
	// BackoffMultiplier multiplies the open duration after every failed half-open.
	BackoffMultiplier float64
	// MaxOpenDuration caps the open duration (before jitter).
	MaxOpenDuration time.Duration
	// HalfOpenProbes is how many probe calls may be in flight fleet-wide in HALF_OPEN.
	HalfOpenProbes int
	// SuccessThreshold is how many successful probes close the circuit.
	SuccessThreshold int
	// ProbeLease is how long a probe permit stays valid if its outcome is never reported.
	ProbeLease time.Duration
}

// DefaultPolicy returns the defaults of the design contract.
func DefaultPolicy() Policy {
	return Policy{
		FailureRate:         0.50,
		MinCalls:            10,
		ConsecutiveFailures: 3,
		RecentSpan:          10 * time.Second,
		SlowCall:            time.Second,
		SlowCallRate:        0.50,
		Window:              60 * time.Second,
		OpenDuration:        30 * time.Second,
		BackoffMultiplier:   2,
		MaxOpenDuration:     10 * time.Minute,
		HalfOpenProbes:      1,
		SuccessThreshold:    2,
		ProbeLease:          30 * time.Second,
	}
}

// Recent is the recent span the recent-span rule judges: RecentSpan, or the window if that is shorter.
func (p Policy) Recent() time.Duration { return min(p.RecentSpan, p.Window) }

// BucketWidth is the length of one window bucket.
func (p Policy) BucketWidth() time.Duration { return p.Window / Buckets }

// Validate reports every knob that is out of range.
func (p Policy) Validate() error {
	var errs []error
	bad := func(knob, msg string) { errs = append(errs, &knobError{key: knob, msg: msg}) }
	if !(p.FailureRate > 0 && p.FailureRate <= 1) {
		bad("failureRate", "must be a percentage from 1 to 100")
	}
	if !(p.SlowCallRate > 0 && p.SlowCallRate <= 1) {
		bad("slowCallRate", "must be a percentage from 1 to 100")
	}
	if p.MinCalls < 1 {
		bad("minCalls", "must be at least 1")
	}
	if p.ConsecutiveFailures < 0 {
		bad("consecutiveFailures", "must be 0 (off) or more")
	}
	if p.RecentSpan < 0 || p.RecentSpan%time.Second != 0 {
		bad("recentSpan", "must be 0 (off) or a whole number of seconds, e.g. 10s")
	}
	if p.SlowCall <= 0 {
		bad("slowCall", "must be a positive duration")
	}
	if p.Window < Buckets*time.Second || p.Window%(Buckets*time.Second) != 0 {
		bad("window", fmt.Sprintf("must be a multiple of %ds (it is cut into %d buckets of whole seconds)", Buckets, Buckets))
	}
	if p.OpenDuration <= 0 {
		bad("openDuration", "must be a positive duration")
	}
	if p.MaxOpenDuration < p.OpenDuration {
		errs = append(errs, &knobError{key: "maxOpenDuration", also: "openDuration", msg: "must be at least openDuration"})
	}
	if p.OpenDuration > MaxOpenLimit {
		bad("openDuration", "must be at most "+MaxOpenLimit.String()+" (an outage longer than that is an operator's FORCED_OPEN)")
	}
	if p.MaxOpenDuration > MaxOpenLimit {
		bad("maxOpenDuration", "must be at most "+MaxOpenLimit.String()+" (an outage longer than that is an operator's FORCED_OPEN)")
	}
	if !(p.BackoffMultiplier >= 1) { // also refuses NaN
		bad("backoffMultiplier", "must be at least 1")
	}
	if p.HalfOpenProbes < 1 {
		bad("halfOpenProbes", "must be at least 1")
	}
	if p.SuccessThreshold < 1 {
		bad("successThreshold", "must be at least 1")
	}
	if p.ProbeLease <= 0 {
		bad("probeLease", "must be a positive duration")
	}
	return errors.Join(errs...)
}

// knobError is one out-of-range knob found by Validate; PolicyFromEnv uses key (and also, the other
// knob of a cross-check) to name the variables.
type knobError struct{ key, also, msg string }

func (e *knobError) Error() string { return "policy " + e.key + " " + e.msg }

// knob ties a policy field to its environment variable and its per-circuit key.
type knob struct {
	env, key string
	set      func(p *Policy, v string) error
}

var knobs = []knob{
	{"BREAKERBOX_FAILURE_RATE", "failureRate", func(p *Policy, v string) (err error) { p.FailureRate, err = parsePercent(v); return }},
	{"BREAKERBOX_MIN_CALLS", "minCalls", func(p *Policy, v string) (err error) { p.MinCalls, err = strconv.ParseInt(v, 10, 64); return }},
	{"BREAKERBOX_CONSECUTIVE_FAILURES", "consecutiveFailures", func(p *Policy, v string) (err error) { p.ConsecutiveFailures, err = strconv.Atoi(v); return }},
	{"BREAKERBOX_RECENT_SPAN", "recentSpan", func(p *Policy, v string) (err error) { p.RecentSpan, err = time.ParseDuration(v); return }},
	{"BREAKERBOX_SLOW_CALL", "slowCall", func(p *Policy, v string) (err error) { p.SlowCall, err = time.ParseDuration(v); return }},
	{"BREAKERBOX_SLOW_CALL_RATE", "slowCallRate", func(p *Policy, v string) (err error) { p.SlowCallRate, err = parsePercent(v); return }},
	{"BREAKERBOX_WINDOW", "window", func(p *Policy, v string) (err error) { p.Window, err = time.ParseDuration(v); return }},
	{"BREAKERBOX_OPEN_DURATION", "openDuration", func(p *Policy, v string) (err error) { p.OpenDuration, err = time.ParseDuration(v); return }},
	{"BREAKERBOX_MAX_OPEN_DURATION", "maxOpenDuration", func(p *Policy, v string) (err error) { p.MaxOpenDuration, err = time.ParseDuration(v); return }},
	{"BREAKERBOX_BACKOFF_MULTIPLIER", "backoffMultiplier", func(p *Policy, v string) (err error) { p.BackoffMultiplier, err = strconv.ParseFloat(v, 64); return }},
	{"BREAKERBOX_HALF_OPEN_PROBES", "halfOpenProbes", func(p *Policy, v string) (err error) { p.HalfOpenProbes, err = strconv.Atoi(v); return }},
	{"BREAKERBOX_SUCCESS_THRESHOLD", "successThreshold", func(p *Policy, v string) (err error) { p.SuccessThreshold, err = strconv.Atoi(v); return }},
	{"BREAKERBOX_PROBE_LEASE", "probeLease", func(p *Policy, v string) (err error) { p.ProbeLease, err = time.ParseDuration(v); return }},
}

// EnvVars lists the environment variables that set policy knobs, in a stable order.
func EnvVars() []string {
	out := make([]string, len(knobs))
	for i, k := range knobs {
		out[i] = k.env
	}
	return out
}

// OverrideKeys lists the keys accepted in a circuit's per-circuit policy map, sorted.
func OverrideKeys() []string {
	out := make([]string, len(knobs))
	for i, k := range knobs {
		out[i] = k.key
	}
	sort.Strings(out)
	return out
}

// PolicyFromEnv starts from base and applies every policy variable that getenv returns non-empty.
// Errors name the variable and say what a valid value looks like.
func PolicyFromEnv(base Policy, getenv func(string) string) (Policy, error) {
	p := base
	var errs []error
	for _, k := range knobs {
		v := strings.TrimSpace(getenv(k.env))
		if v == "" {
			continue
		}
		if err := k.set(&p, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", k.env, v, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return base, err
	}
	if err := p.Validate(); err != nil {
		return base, fmt.Errorf("policy from environment: %w", nameVariables(err, getenv))
	}
	return p, nil
}

// nameVariables prefixes each of Validate's errors with the environment variable that sets the knob,
// so that an in-range-but-invalid value (BREAKERBOX_MIN_CALLS=0) is reported by the variable's name.
func nameVariables(err error, getenv func(string) string) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var out []error
	for _, e := range joined.Unwrap() {
		var ke *knobError
		if !errors.As(e, &ke) {
			out = append(out, e)
			continue
		}
		var names []string
		for _, key := range []string{ke.key, ke.also} {
			if k, ok := knobByKey(key); ok {
				if v := strings.TrimSpace(getenv(k.env)); v != "" {
					names = append(names, fmt.Sprintf("%s=%q", k.env, v))
				} else {
					names = append(names, k.env+" (not set)")
				}
			}
		}
		out = append(out, fmt.Errorf("%s: %w", strings.Join(names, ", "), e))
	}
	return errors.Join(out...)
}

// WithOverrides applies a circuit's own policy map (keys from OverrideKeys, values written as the
// environment variables take them) on top of p. An unknown key or bad value is an error.
func (p Policy) WithOverrides(m map[string]string) (Policy, error) {
	if len(m) == 0 {
		return p, nil
	}
	out := p
	var errs []error
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys) // errors in a stable order
	for _, key := range keys {
		v := m[key]
		k, ok := knobByKey(key)
		if !ok {
			errs = append(errs, fmt.Errorf("unknown policy key %q: want one of %s", key, strings.Join(OverrideKeys(), ", ")))
			continue
		}
		if err := k.set(&out, strings.TrimSpace(v)); err != nil {
			errs = append(errs, fmt.Errorf("policy %s=%q: %w", key, v, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	if err := out.Validate(); err != nil {
		return p, err
	}
	return out, nil
}

func knobByKey(key string) (knob, bool) {
	for _, k := range knobs {
		if k.key == key {
			return k, true
		}
	}
	return knob{}, false
}

// parsePercent reads "50" or "50%" as 0.5. Fractions such as "0.5" are refused rather than guessed at.
func parsePercent(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: give a percentage from 1 to 100, e.g. 50")
	}
	if !(f >= 1 && f <= 100) { // also refuses NaN
		return 0, fmt.Errorf("out of range: give a percentage from 1 to 100, e.g. 50")
	}
	return f / 100, nil
}
