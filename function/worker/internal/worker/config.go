// Package worker is the provider worker the ventilator invokes once per record: it either simulates
// a provider (SLOW_RATIO, ERROR_RATIO, SLOW_DELAY, BASE_DELAY) or calls a real one (PROVIDER_URL).
package worker

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by LoadConfig.
const (
	EnvSlowRatio       = "SLOW_RATIO"
	EnvErrorRatio      = "ERROR_RATIO"
	EnvSlowDelay       = "SLOW_DELAY"
	EnvBaseDelay       = "BASE_DELAY"
	EnvProviderURL     = "PROVIDER_URL"
	EnvProviderTimeout = "PROVIDER_TIMEOUT"
)

// ErrInvalidConfig is wrapped by every error of LoadConfig.
var ErrInvalidConfig = errors.New("invalid worker configuration")

// Config is the worker's validated configuration.
type Config struct {
	// SlowRatio is the share of simulated calls that take SlowDelay (SLOW_RATIO, 0 to 1, default 0).
	SlowRatio float64
	// ErrorRatio is the share of simulated calls that fail (ERROR_RATIO, 0 to 1, default 0).
	ErrorRatio float64
	// SlowDelay is the latency of a slow simulated call (SLOW_DELAY, default 2s).
	SlowDelay time.Duration
	// BaseDelay is the latency of any other simulated call (BASE_DELAY, default 20ms).
	BaseDelay time.Duration
	// ProviderURL, when set, is called for real (POST with the record as JSON) instead of simulating
	// (PROVIDER_URL).
	ProviderURL string
	// ProviderTimeout bounds a real call (PROVIDER_TIMEOUT, default 10s).
	ProviderTimeout time.Duration
}

// LoadConfig reads and validates the configuration through lookup; every error names its variable.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	c := Config{SlowDelay: 2 * time.Second, BaseDelay: 20 * time.Millisecond, ProviderTimeout: 10 * time.Second}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	ratio := func(name string, dst *float64) {
		if v, ok := get(name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1) {
				bad("%s must be a number from 0 to 1, got %q", name, v)
				return
			}
			*dst = f
		}
	}
	duration := func(name string, dst *time.Duration, allowZero bool) {
		if v, ok := get(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || (d == 0 && !allowZero) || d > 15*time.Minute {
				bad("%s must be a Go duration such as 2s, at most 15m, got %q", name, v)
				return
			}
			*dst = d
		}
	}
	ratio(EnvSlowRatio, &c.SlowRatio)
	ratio(EnvErrorRatio, &c.ErrorRatio)
	duration(EnvSlowDelay, &c.SlowDelay, true)
	duration(EnvBaseDelay, &c.BaseDelay, true)
	duration(EnvProviderTimeout, &c.ProviderTimeout, false)
	if v, ok := get(EnvProviderURL); ok {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s must be an http or https URL, got %q", EnvProviderURL, v)
		}
		c.ProviderURL = v
	}
	return c, errors.Join(errs...)
}
