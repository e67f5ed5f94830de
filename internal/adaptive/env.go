package adaptive

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LoadConfig reads the variables named by the Env constants through lookup (os.LookupEnv in a
// Lambda function), starting from [DefaultConfig], and validates the result. Unset or empty
// variables keep their defaults. Every error names its variable and wraps [ErrInvalidConfig].
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	str := func(name string, dst *string) {
		if v, ok := get(name); ok {
			*dst = strings.ToLower(v)
		}
	}
	integer := func(name string, dst *int) {
		if v, ok := get(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s must be an integer, got %q", ErrInvalidConfig, name, v))
				return
			}
			*dst = n
		}
	}
	float := func(name string, dst *float64) {
		if v, ok := get(name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s must be a number, got %q", ErrInvalidConfig, name, v))
				return
			}
			*dst = f
		}
	}
	duration := func(name string, dst *time.Duration) {
		if v, ok := get(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s must be a Go duration such as 1s or 750ms, got %q",
					ErrInvalidConfig, name, v))
				return
			}
			*dst = d
		}
	}
	str(EnvPolicy, &c.Policy)
	integer(EnvMinBatch, &c.MinBatch)
	integer(EnvMaxBatch, &c.MaxBatch)
	integer(EnvInitialBatch, &c.InitialBatch)
	duration(EnvSlowCall, &c.SlowCall)
	integer(EnvMinSamples, &c.MinSamples)
	float(EnvBackoffRatio, &c.BackoffRatio)
	float(EnvBackoffFactor, &c.BackoffFactor)
	integer(EnvTripAfter, &c.TripAfter)
	duration(EnvWakeAfter, &c.WakeAfter)
	float(EnvGradientTolerance, &c.GradientTolerance)
	float(EnvGradientSmoothing, &c.GradientSmoothing)
	integer(EnvGradientWindow, &c.GradientWindow)
	integer(EnvMinConcurrency, &c.MinConcurrency)
	integer(EnvMaxConcurrency, &c.MaxConcurrency)
	integer(EnvInitialConc, &c.InitialConcurrency)
	integer(EnvBatchFactor, &c.BatchFactor)
	float(EnvBudgetShare, &c.BudgetShare)
	duration(EnvBatchTime, &c.BatchTime)
	float(EnvKneeTolerance, &c.KneeTolerance)
	duration(EnvBaselineWindow, &c.BaselineWindow)
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	// In Config a zero INITIAL_BATCH or INITIAL_CONCURRENCY means "start at the minimum"; written in
	// the environment it is a value out of bounds, reported as Validate reports a negative one.
	for _, v := range []struct {
		name, lo, hi string
		set          int
		min, max     int
	}{
		{EnvInitialBatch, EnvMinBatch, EnvMaxBatch, c.InitialBatch, c.MinBatch, c.MaxBatch},
		{EnvInitialConc, EnvMinConcurrency, EnvMaxConcurrency, c.InitialConcurrency, c.MinConcurrency, c.MaxConcurrency},
	} {
		if _, ok := get(v.name); ok && v.set == 0 {
			errs = append(errs, fmt.Errorf("%w: %s must be between %s (%d) and %s (%d), got 0",
				ErrInvalidConfig, v.name, v.lo, v.min, v.hi, v.max))
		}
	}
	if err := errors.Join(append(errs, c.Validate())...); err != nil {
		return c, err
	}
	return c, nil
}
