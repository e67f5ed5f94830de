// Package demo runs breakerbox's demo: the whole system on one machine protecting a provider that
// goes healthy → degraded → down → recovered on a compressed clock, with a live timeline, a
// summary measured from the provider's own ledger, and files in the output directory (a chart, the
// transitions, the metric lines, the logs).
package demo

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/scenario"
	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Config is the demo's configuration, set from flags.
type Config struct {
	// Out is the output directory.
	Out string
	// Repo is a directory inside the breakerbox module, whose parts are built.
	Repo string
	// Endpoint is an AWS endpoint to use instead of starting moto_server (AWS_ENDPOINT_URL).
	Endpoint string
	// Circuit is the id of the provider's circuit.
	Circuit string

	// Phase lengths.
	Healthy, Degraded, Down, Recovered time.Duration
	// Latency and SlowDelay are the provider's normal and slow call times.
	Latency, SlowDelay time.Duration
	// DegradedErrors, DegradedSlow and DownErrors are the failure mix: the shares of failing and
	// slow calls while degraded, and of failing calls while down.
	DegradedErrors, DegradedSlow, DownErrors float64
	// Rate is the records fed per second.
	Rate float64

	// Policy is the concurrency controller's policy (BATCH_POLICY; default the controller's own,
	// pace).
	Policy string
	// MinBatch, MaxBatch, InitialBatch and TripAfter bound and tune the batch controller
	// (MIN_BATCH, MAX_BATCH, INITIAL_BATCH, TRIP_AFTER); Tries is MAX_ATTEMPTS.
	MinBatch, MaxBatch, InitialBatch, TripAfter, Tries int
	// BackoffRatio is the share of slow or failed calls above which the batch shrinks
	// (BACKOFF_RATIO).
	BackoffRatio float64

	// Window, OpenDuration, MaxOpenDuration and SlowCall are the circuit policy's durations
	// (BREAKERBOX_WINDOW, ...), compressed to the demo's clock; SlowCall is also the controller's.
	Window, OpenDuration, MaxOpenDuration, SlowCall time.Duration
	// MinCalls and ConsecutiveFailures are the circuit policy's counts (BREAKERBOX_MIN_CALLS,
	// BREAKERBOX_CONSECUTIVE_FAILURES).
	MinCalls, ConsecutiveFailures int

	// CheckEvery and WakeEvery are the checker's and the wake-up's compressed periods.
	CheckEvery, WakeEvery time.Duration
	// RowEvery is the timeline's row period.
	RowEvery time.Duration
	// Drain bounds the wait, after the last phase, for the backlog to be processed: the longest wait
	// without a record finishing (the whole wait is at most 10 times as long).
	Drain time.Duration
	// Seed seeds the provider's failure draws.
	Seed uint64
	// Color is "auto", "always" or "never".
	Color string
}

// DefaultConfig is the configuration of `make demo`: 75 s of scenario, so that the whole run,
// builds included, stays within three minutes on a fresh machine.
func DefaultConfig() Config {
	return Config{
		Out: "out/demo", Repo: ".", Circuit: "payments",
		Healthy: 12 * time.Second, Degraded: 18 * time.Second, Down: 18 * time.Second, Recovered: 27 * time.Second,
		Latency: 20 * time.Millisecond, SlowDelay: 1500 * time.Millisecond,
		DegradedErrors: 0.1, DegradedSlow: 0.25, DownErrors: 1,
		Rate:   8,
		Policy: adaptive.DefaultPolicy, MinBatch: 1, MaxBatch: 10, InitialBatch: 1, TripAfter: 3, Tries: 3,
		// The ventilator slows down at a milder degradation (30 % slow or failed calls) than the
		// circuit trips at (50 %): concurrency first, the breaker for the outage.
		BackoffRatio: 0.3,
		Window:       12 * time.Second, OpenDuration: 4 * time.Second, MaxOpenDuration: 8 * time.Second, SlowCall: time.Second,
		MinCalls: 10, ConsecutiveFailures: 5,
		// The circuit's state-change event wakes the ventilator; the schedule is only the backstop.
		CheckEvery: 2 * time.Second, WakeEvery: 30 * time.Second, RowEvery: 2 * time.Second,
		Drain: 60 * time.Second, Seed: 1, Color: "auto",
	}
}

// RegisterFlags binds c's fields to flags of fs, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Out, "out", c.Out, "output directory (chart, transitions, metrics, logs)")
	fs.StringVar(&c.Repo, "repo", c.Repo, "a directory in the breakerbox module whose parts are built")
	fs.StringVar(&c.Circuit, "circuit", c.Circuit, "id of the provider's circuit")

	fs.DurationVar(&c.Healthy, "healthy", c.Healthy, "length of the provider's healthy phase")
	fs.DurationVar(&c.Degraded, "degraded", c.Degraded, "length of the degraded phase (slow calls and some errors)")
	fs.DurationVar(&c.Down, "down", c.Down, "length of the down phase (calls fail, health check fails)")
	fs.DurationVar(&c.Recovered, "recovered", c.Recovered, "length of the recovered phase")
	fs.DurationVar(&c.Latency, "latency", c.Latency, "latency of a normal provider call (±50%)")
	fs.DurationVar(&c.SlowDelay, "slow-delay", c.SlowDelay, "latency of a slow provider call")
	fs.Float64Var(&c.DegradedErrors, "degraded-errors", c.DegradedErrors, "share of calls that fail while degraded (0-1)")
	fs.Float64Var(&c.DegradedSlow, "degraded-slow", c.DegradedSlow, "share of calls that are slow while degraded (0-1)")
	fs.Float64Var(&c.DownErrors, "down-errors", c.DownErrors, "share of calls that fail while down (0-1)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "records fed per second")

	fs.StringVar(&c.Policy, "policy", c.Policy, "concurrency controller policy: pace, knee, step, aimd or gradient (BATCH_POLICY)")
	fs.IntVar(&c.MinBatch, "min-batch", c.MinBatch, "smallest batch size (MIN_BATCH)")
	fs.IntVar(&c.MaxBatch, "max-batch", c.MaxBatch, "largest batch size (MAX_BATCH), also the worker's concurrency")
	fs.IntVar(&c.InitialBatch, "initial-batch", c.InitialBatch, "batch size at the start (INITIAL_BATCH)")
	fs.IntVar(&c.TripAfter, "trip-after", c.TripAfter, "failing batches in a row at the smallest size before the ventilator pauses itself (TRIP_AFTER)")
	fs.Float64Var(&c.BackoffRatio, "backoff-ratio", c.BackoffRatio, "share of slow or failed calls above which aimd and gradient shrink the batch (BACKOFF_RATIO)")
	fs.IntVar(&c.Tries, "max-attempts", c.Tries, "worker calls per record before the dead-letter queue (MAX_ATTEMPTS)")

	fs.DurationVar(&c.Window, "window", c.Window, "circuit's sliding window (BREAKERBOX_WINDOW)")
	fs.DurationVar(&c.OpenDuration, "open-duration", c.OpenDuration, "time OPEN before a probe (BREAKERBOX_OPEN_DURATION)")
	fs.DurationVar(&c.MaxOpenDuration, "max-open-duration", c.MaxOpenDuration, "cap of the doubled open time (BREAKERBOX_MAX_OPEN_DURATION)")
	fs.DurationVar(&c.SlowCall, "slow-call", c.SlowCall, "a call slower than this counts as slow (BREAKERBOX_SLOW_CALL, SLOW_CALL)")
	fs.IntVar(&c.MinCalls, "min-calls", c.MinCalls, "calls in the window before a rate can trip (BREAKERBOX_MIN_CALLS)")
	fs.IntVar(&c.ConsecutiveFailures, "consecutive-failures", c.ConsecutiveFailures, "failures in a row that trip (BREAKERBOX_CONSECUTIVE_FAILURES)")

	fs.DurationVar(&c.CheckEvery, "check-every", c.CheckEvery, "checker period (its rule's rate(1 minute), compressed)")
	fs.DurationVar(&c.WakeEvery, "wake-every", c.WakeEvery, "ventilator wake-up period (its rule's rate(10 minutes), compressed)")
	fs.DurationVar(&c.RowEvery, "row-every", c.RowEvery, "time between two rows of the timeline")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "after the last phase, the longest wait without a record finishing while the backlog is processed (the whole wait is at most 10 times as long)")
	fs.Func("seed", "seed of the provider's failure draws (default "+strconv.FormatUint(c.Seed, 10)+")", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", v)
		}
		c.Seed = n
		return nil
	})
	fs.StringVar(&c.Color, "color", c.Color, "colours in the timeline: auto, always or never")
}

// maxPhase bounds each phase, so that their sum cannot overflow.
const maxPhase = 24 * time.Hour

// Validate reports every problem at once, naming the flag at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Out == "" {
		bad("-out: an output directory is required")
	}
	if err := circuit.ValidateID(c.Circuit); err != nil {
		bad("-circuit: %v", err)
	}
	for name, d := range map[string]time.Duration{"-healthy": c.Healthy, "-degraded": c.Degraded, "-down": c.Down, "-recovered": c.Recovered} {
		switch {
		case d < 0:
			bad("%s: a phase length cannot be negative, got %s", name, d)
		case d > maxPhase:
			bad("%s: at most %s for a phase (the clock is compressed: the defaults last 10s to 30s), got %s", name, maxPhase, d)
		}
	}
	if c.Healthy <= 0 && c.Degraded <= 0 && c.Down <= 0 && c.Recovered <= 0 {
		bad("-healthy, -degraded, -down, -recovered: at least one phase must last")
	}
	if c.Down > 0 && c.Recovered <= 0 {
		bad("-recovered: a demo with a down phase needs a recovered phase to show the recovery")
	}
	for name, f := range map[string]float64{"-degraded-errors": c.DegradedErrors, "-degraded-slow": c.DegradedSlow, "-down-errors": c.DownErrors} {
		if !(f >= 0 && f <= 1) { // NaN too
			bad("%s: want a share from 0 to 1, got %v", name, f)
		}
	}
	if c.DegradedErrors+c.DegradedSlow > 1 {
		bad("-degraded-errors plus -degraded-slow is more than 1 (%v + %v)", c.DegradedErrors, c.DegradedSlow)
	}
	if c.Latency <= 0 || c.SlowDelay <= 0 {
		bad("-latency and -slow-delay must be more than 0")
	}
	if !(c.Rate > 0 && c.Rate <= 200) { // NaN too
		bad("-rate: want more than 0 and at most 200 records per second, got %v", c.Rate)
	}
	ac := adaptive.DefaultConfig()
	ac.Policy, ac.MinBatch, ac.MaxBatch, ac.InitialBatch, ac.TripAfter, ac.SlowCall = c.Policy, c.MinBatch, c.MaxBatch, c.InitialBatch, c.TripAfter, c.SlowCall
	ac.BackoffRatio = c.BackoffRatio
	if err := ac.Validate(); err != nil {
		bad("batch controller (-policy, -min-batch, -max-batch, -initial-batch, -trip-after, -backoff-ratio, -slow-call): %w", err)
	}
	if c.MaxBatch > 50 {
		bad("-max-batch: at most 50 on one machine (one worker process per concurrent record), got %d", c.MaxBatch)
	}
	if c.Tries < 1 {
		bad("-max-attempts: want at least 1, got %d", c.Tries)
	}
	if _, err := circuit.PolicyFromEnv(circuit.DefaultPolicy(), c.lookupPolicy); err != nil {
		bad("circuit policy (-window, -open-duration, -max-open-duration, -slow-call, -min-calls, -consecutive-failures): %w", err)
	}
	for name, d := range map[string]time.Duration{"-check-every": c.CheckEvery, "-wake-every": c.WakeEvery, "-row-every": c.RowEvery} {
		if d < 100*time.Millisecond {
			bad("%s: want at least 100ms, got %s", name, d)
		}
	}
	if c.Drain < 0 {
		bad("-drain: cannot be negative")
	}
	switch c.Color {
	case "auto", "always", "never":
	default:
		bad("-color: want auto, always or never, got %q", c.Color)
	}
	return errors.Join(errs...)
}

// Duration is the scenario's length.
func (c Config) Duration() time.Duration { return c.Healthy + c.Degraded + c.Down + c.Recovered }

// Scenario is the provider's phases; phases of length 0 are left out.
func (c Config) Scenario() scenario.Scenario {
	all := []scenario.Phase{
		{Name: "healthy", Duration: c.Healthy, Healthy: true},
		{Name: "degraded", Duration: c.Degraded, ErrorRate: c.DegradedErrors, SlowRate: c.DegradedSlow, Healthy: true},
		{Name: "down", Duration: c.Down, ErrorRate: c.DownErrors},
		{Name: "recovered", Duration: c.Recovered, Healthy: true},
	}
	var s scenario.Scenario
	for _, p := range all {
		if p.Duration > 0 {
			s.Phases = append(s.Phases, p)
		}
	}
	return s
}

// policyEnv is the circuit policy as the extension's and the checker's environment.
func (c Config) policyEnv() []string {
	return []string{
		"BREAKERBOX_WINDOW=" + c.Window.String(),
		"BREAKERBOX_OPEN_DURATION=" + c.OpenDuration.String(),
		"BREAKERBOX_MAX_OPEN_DURATION=" + c.MaxOpenDuration.String(),
		"BREAKERBOX_SLOW_CALL=" + c.SlowCall.String(),
		"BREAKERBOX_MIN_CALLS=" + strconv.Itoa(c.MinCalls),
		"BREAKERBOX_CONSECUTIVE_FAILURES=" + strconv.Itoa(c.ConsecutiveFailures),
	}
}

// lookupPolicy serves policyEnv to circuit.PolicyFromEnv.
func (c Config) lookupPolicy(name string) string {
	for _, kv := range c.policyEnv() {
		if len(kv) > len(name) && kv[:len(name)] == name && kv[len(name)] == '=' {
			return kv[len(name)+1:]
		}
	}
	return ""
}

// ventilatorEnv is the batch controller's and the retries' environment.
func (c Config) ventilatorEnv() []string {
	return []string{
		"BATCH_POLICY=" + c.Policy,
		"MIN_BATCH=" + strconv.Itoa(c.MinBatch),
		"MAX_BATCH=" + strconv.Itoa(c.MaxBatch),
		// The worker runs at most MaxBatch sandboxes: the provider's limit on calls in flight here.
		"MAX_CONCURRENCY=" + strconv.Itoa(c.MaxBatch),
		"INITIAL_BATCH=" + strconv.Itoa(c.InitialBatch),
		"TRIP_AFTER=" + strconv.Itoa(c.TripAfter),
		"BACKOFF_RATIO=" + strconv.FormatFloat(c.BackoffRatio, 'f', -1, 64),
		"SLOW_CALL=" + c.SlowCall.String(),
		"MAX_ATTEMPTS=" + strconv.Itoa(c.Tries),
		// The demo's clock is compressed: the extension reads circuits and reports outcomes often.
		"BREAKERBOX_CACHE_TTL=500ms",
		"BREAKERBOX_FLUSH_INTERVAL=250ms",
	}
}
