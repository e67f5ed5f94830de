package adaptive

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Names of the policies accepted by [New] and by BATCH_POLICY.
const (
	PolicyStep     = "step"
	PolicyAIMD     = "aimd"
	PolicyGradient = "gradient"
	PolicyKnee     = "knee"
	PolicyPace     = "pace"
)

// DefaultPolicy is the policy used when BATCH_POLICY is not set.
const DefaultPolicy = PolicyPace

// Environment variables read by [LoadConfig]; validation errors name them too.
const (
	EnvPolicy            = "BATCH_POLICY"
	EnvMinBatch          = "MIN_BATCH"
	EnvMaxBatch          = "MAX_BATCH"
	EnvInitialBatch      = "INITIAL_BATCH"
	EnvSlowCall          = "SLOW_CALL"
	EnvMinSamples        = "MIN_SAMPLES"
	EnvBackoffRatio      = "BACKOFF_RATIO"
	EnvBackoffFactor     = "BACKOFF_FACTOR"
	EnvTripAfter         = "TRIP_AFTER"
	EnvGradientTolerance = "GRADIENT_TOLERANCE"
	EnvGradientSmoothing = "GRADIENT_SMOOTHING"
	EnvGradientWindow    = "GRADIENT_WINDOW"
	EnvMinConcurrency    = "MIN_CONCURRENCY"
	EnvMaxConcurrency    = "MAX_CONCURRENCY"
	EnvInitialConc       = "INITIAL_CONCURRENCY"
	EnvBatchFactor       = "BATCH_FACTOR"
	EnvBudgetShare       = "BUDGET_SHARE"
	EnvBatchTime         = "BATCH_TIME"
	EnvKneeTolerance     = "KNEE_TOLERANCE"
	EnvBaselineWindow    = "BASELINE_WINDOW"
	EnvWakeAfter         = "WAKE_AFTER"
)

// MaxWakeAfter is the longest WAKE_AFTER accepted: the backstop schedule's period, beyond which
// the self-wake would promise less than the backstop already gives.
const MaxWakeAfter = 10 * time.Minute

// MaxConcurrencyLimit is the largest MAX_CONCURRENCY accepted: 1000 SQS invocations of 10 calls.
const MaxConcurrencyLimit = 10000

// MaxBatchLimit is the largest MAX_BATCH accepted: the largest batch size an event source mapping
// takes (Kinesis, or SQS with a batching window).
const MaxBatchLimit = 10000

// ErrInvalidConfig is wrapped by every error that [Config.Validate] and [LoadConfig] return.
var ErrInvalidConfig = errors.New("invalid batch controller config")

// Config sets the controller's policy and bounds. Concurrency (calls in flight, fleet-wide) and batch
// size (records per ventilator invocation) are separate figures with bounds of their own. The zero value is not valid; start from
// [DefaultConfig] or [LoadConfig].
type Config struct {
	// Policy is "pace", "knee", "step", "aimd" or "gradient" (BATCH_POLICY, default "pace").
	Policy string
	// MinConcurrency is the smallest fleet-wide concurrency, where failures trip (MIN_CONCURRENCY,
	// default 1; at least the number of ventilators running at once, see [Config.FitsPollers]).
	MinConcurrency int
	// MaxConcurrency is the provider's contractual limit on calls in flight, which all ventilators
	// together never exceed (MAX_CONCURRENCY, default 10, at most 10000).
	MaxConcurrency int
	// InitialConcurrency is the concurrency of a controller without a stored state
	// (INITIAL_CONCURRENCY, default MinConcurrency).
	InitialConcurrency int
	// BatchFactor is the fewest rounds of calls a batch holds for its pool: a pool drains for about
	// one call's latency at the end of each batch, losing half a round, so a batch of 16 rounds
	// keeps some 97 % of its calls in flight (BATCH_FACTOR, default 16). Under the pace policy a
	// batch holds perCallRounds times as many once a latency is known (see perCallBatch).
	BatchFactor int
	// BatchTime is the shortest time a batch keeps its pool busy at the latest latency, so that the
	// time between batches (poll, invoke, settle) stays small beside it when calls are fast
	// (BATCH_TIME, default 500ms). Longer batches react later to a provider that slows down.
	BatchTime time.Duration
	// BudgetShare is the share of a batch's time budget ([Batch.Budget]) that the next batch is
	// sized to fill at the latest latency, leaving the rest for slow calls (BUDGET_SHARE,
	// default 0.5).
	BudgetShare float64
	// KneeTolerance is how much slower than its no-load baseline the provider may answer before the
	// knee policy takes it for queueing (KNEE_TOLERANCE, default 1.2).
	KneeTolerance float64
	// BaselineWindow is how long a no-load latency measurement is trusted before the knee policy
	// measures it again (BASELINE_WINDOW, default 5m).
	BaselineWindow time.Duration
	// MinBatch is the smallest batch size (MIN_BATCH, default 1).
	MinBatch int
	// MaxBatch is the largest batch size (MAX_BATCH, default 100, at most 10000).
	MaxBatch int
	// InitialBatch is the batch size of a controller without a stored state (INITIAL_BATCH,
	// default MinBatch).
	InitialBatch int
	// SlowCall is the latency above which a successful call counts as slow (SLOW_CALL, default 1s).
	SlowCall time.Duration
	// MinSamples is the number of calls a decision needs; smaller batches accumulate until it is
	// reached (MIN_SAMPLES, default 1: every batch decides, as the original rule does).
	MinSamples int
	// BackoffRatio is the share of slow or failed calls above which aimd and gradient back off
	// (BACKOFF_RATIO, default 0.5, the circuit's slow-call rate). The step policy keeps its fixed 50 %.
	BackoffRatio float64
	// BackoffFactor multiplies the batch size when aimd and gradient back off (BACKOFF_FACTOR,
	// default 0.5).
	BackoffFactor float64
	// TripAfter is the number of consecutive failing batches at MinBatch that trip the breaker
	// (TRIP_AFTER, default 1).
	TripAfter int
	// WakeAfter is how long after its own trip the ventilator may be woken again by its own
	// schedule, whatever the circuit did (WAKE_AFTER, default 30s, at most MaxWakeAfter): the
	// trip stores the moment as [State.WakeAt].
	WakeAfter time.Duration
	// GradientTolerance is how much slower than its baseline latency may get before gradient
	// shrinks the batch (GRADIENT_TOLERANCE, default 1.5).
	GradientTolerance float64
	// GradientSmoothing is the weight of a new gradient estimate against the previous limit
	// (GRADIENT_SMOOTHING, default 0.2).
	GradientSmoothing float64
	// GradientWindow is the number of decisions over which gradient's baseline latency may rise
	// (GRADIENT_WINDOW, default 100).
	GradientWindow int
}

// DefaultConfig returns the defaults listed on each field of [Config].
func DefaultConfig() Config {
	return Config{
		Policy:            DefaultPolicy,
		MinConcurrency:    1,
		MaxConcurrency:    10,
		BatchFactor:       16,
		BudgetShare:       0.5,
		BatchTime:         500 * time.Millisecond,
		KneeTolerance:     1.2,
		BaselineWindow:    5 * time.Minute,
		MinBatch:          1,
		MaxBatch:          100,
		SlowCall:          time.Second,
		MinSamples:        1,
		BackoffRatio:      0.5,
		BackoffFactor:     0.5,
		TripAfter:         1,
		WakeAfter:         30 * time.Second,
		GradientTolerance: 1.5,
		GradientSmoothing: 0.2,
		GradientWindow:    100,
	}
}

// initialBatch is InitialBatch, or MinBatch when InitialBatch is unset.
func (c Config) initialBatch() int {
	if c.InitialBatch == 0 {
		return c.MinBatch
	}
	return c.InitialBatch
}

// initialConcurrency is InitialConcurrency, or MinConcurrency when InitialConcurrency is unset.
func (c Config) initialConcurrency() int {
	if c.InitialConcurrency == 0 {
		return c.MinConcurrency
	}
	return c.InitialConcurrency
}

// Validate reports every problem of c at once, each naming its environment variable. The error
// wraps [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	switch c.Policy {
	case PolicyPace, PolicyKnee, PolicyStep, PolicyAIMD, PolicyGradient:
	default:
		bad("%s must be one of %s, %s, %s, %s, %s; got %q", EnvPolicy, PolicyPace, PolicyKnee, PolicyStep, PolicyAIMD, PolicyGradient, c.Policy)
	}
	if c.MinConcurrency < 1 {
		bad("%s must be at least 1, got %d", EnvMinConcurrency, c.MinConcurrency)
	}
	if c.MaxConcurrency < 1 || c.MaxConcurrency > MaxConcurrencyLimit {
		bad("%s (the provider's limit on calls in flight) must be between 1 and %d, got %d",
			EnvMaxConcurrency, MaxConcurrencyLimit, c.MaxConcurrency)
	}
	if c.MinConcurrency >= 1 && c.MaxConcurrency >= 1 && c.MinConcurrency > c.MaxConcurrency {
		bad("%s (%d) must not exceed %s (%d)", EnvMinConcurrency, c.MinConcurrency, EnvMaxConcurrency, c.MaxConcurrency)
	}
	if c.InitialConcurrency != 0 && (c.InitialConcurrency < c.MinConcurrency || c.InitialConcurrency > c.MaxConcurrency) {
		bad("%s must be between %s (%d) and %s (%d), got %d", EnvInitialConc,
			EnvMinConcurrency, c.MinConcurrency, EnvMaxConcurrency, c.MaxConcurrency, c.InitialConcurrency)
	}
	if c.BatchFactor < 1 || c.BatchFactor > 100 {
		bad("%s must be between 1 and 100, got %d", EnvBatchFactor, c.BatchFactor)
	}
	if c.BatchTime < 0 {
		bad("%s must not be negative, got %s", EnvBatchTime, c.BatchTime)
	}
	if !inRange(c.BudgetShare, 0, 1) || c.BudgetShare == 0 {
		bad("%s must be above 0 and at most 1, got %v", EnvBudgetShare, c.BudgetShare)
	}
	if !inRange(c.KneeTolerance, 1, 10) || c.KneeTolerance == 1 {
		bad("%s must be above 1 and at most 10, got %v", EnvKneeTolerance, c.KneeTolerance)
	}
	if c.BaselineWindow < time.Second {
		bad("%s must be a duration of at least 1s, got %s", EnvBaselineWindow, c.BaselineWindow)
	}
	if c.MinBatch < 1 {
		bad("%s must be at least 1, got %d", EnvMinBatch, c.MinBatch)
	}
	if c.MaxBatch < 1 || c.MaxBatch > MaxBatchLimit {
		bad("%s must be between 1 and %d, got %d", EnvMaxBatch, MaxBatchLimit, c.MaxBatch)
	}
	if c.MinBatch >= 1 && c.MaxBatch >= 1 && c.MinBatch > c.MaxBatch {
		bad("%s (%d) must not exceed %s (%d)", EnvMinBatch, c.MinBatch, EnvMaxBatch, c.MaxBatch)
	}
	if c.InitialBatch != 0 && (c.InitialBatch < c.MinBatch || c.InitialBatch > c.MaxBatch) {
		bad("%s must be between %s (%d) and %s (%d), got %d",
			EnvInitialBatch, EnvMinBatch, c.MinBatch, EnvMaxBatch, c.MaxBatch, c.InitialBatch)
	}
	if c.SlowCall <= 0 {
		bad("%s must be a positive duration, got %s", EnvSlowCall, c.SlowCall)
	}
	if c.MinSamples < 1 {
		bad("%s must be at least 1, got %d", EnvMinSamples, c.MinSamples)
	}
	if !inRange(c.BackoffRatio, 0, 1) || c.BackoffRatio == 1 {
		bad("%s must be at least 0 and below 1, got %v", EnvBackoffRatio, c.BackoffRatio)
	}
	if !inRange(c.BackoffFactor, 0, 1) || c.BackoffFactor == 0 || c.BackoffFactor == 1 {
		bad("%s must be above 0 and below 1, got %v", EnvBackoffFactor, c.BackoffFactor)
	}
	if c.TripAfter < 1 {
		bad("%s must be at least 1, got %d", EnvTripAfter, c.TripAfter)
	}
	if c.WakeAfter <= 0 || c.WakeAfter > MaxWakeAfter {
		bad("%s must be a positive duration of at most %s, got %s", EnvWakeAfter, MaxWakeAfter, c.WakeAfter)
	}
	if !inRange(c.GradientTolerance, 1, 10) {
		bad("%s must be between 1 and 10, got %v", EnvGradientTolerance, c.GradientTolerance)
	}
	if !inRange(c.GradientSmoothing, 0, 1) || c.GradientSmoothing == 0 {
		bad("%s must be above 0 and at most 1, got %v", EnvGradientSmoothing, c.GradientSmoothing)
	}
	if c.GradientWindow < 1 {
		bad("%s must be at least 1, got %d", EnvGradientWindow, c.GradientWindow)
	}
	return errors.Join(errs...)
}

// inRange reports whether lo <= v <= hi; NaN is never in range.
func inRange(v, lo, hi float64) bool {
	return !math.IsNaN(v) && v >= lo && v <= hi
}
