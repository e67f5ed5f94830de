package adaptive

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if got := DefaultConfig().Policy; got != PolicyPace {
		t.Errorf("default policy = %q, want pace", got)
	}
}

func TestValidateNamesTheVariable(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"unknown policy", func(c *Config) { c.Policy = "pid" }, "BATCH_POLICY"},
		{"min below 1", func(c *Config) { c.MinBatch = 0 }, "MIN_BATCH"},
		{"max below 1", func(c *Config) { c.MaxBatch = 0 }, "MAX_BATCH"},
		{"max above limit", func(c *Config) { c.MaxBatch = MaxBatchLimit + 1 }, "MAX_BATCH"},
		{"min above max", func(c *Config) { c.MinBatch, c.MaxBatch = 20, 10 }, "MIN_BATCH (20) must not exceed MAX_BATCH (10)"},
		{"initial out of bounds", func(c *Config) { c.InitialBatch = 1000 }, "INITIAL_BATCH"},
		{"slow call zero", func(c *Config) { c.SlowCall = 0 }, "SLOW_CALL"},
		{"min samples zero", func(c *Config) { c.MinSamples = 0 }, "MIN_SAMPLES"},
		{"backoff ratio 1", func(c *Config) { c.BackoffRatio = 1 }, "BACKOFF_RATIO"},
		{"backoff factor 1", func(c *Config) { c.BackoffFactor = 1 }, "BACKOFF_FACTOR"},
		{"backoff factor 0", func(c *Config) { c.BackoffFactor = 0 }, "BACKOFF_FACTOR"},
		{"trip after 0", func(c *Config) { c.TripAfter = 0 }, "TRIP_AFTER"},
		{"wake after 0", func(c *Config) { c.WakeAfter = 0 }, "WAKE_AFTER"},
		{"wake after past the backstop", func(c *Config) { c.WakeAfter = MaxWakeAfter + time.Second }, "WAKE_AFTER"},
		{"tolerance below 1", func(c *Config) { c.GradientTolerance = 0.9 }, "GRADIENT_TOLERANCE"},
		{"smoothing 0", func(c *Config) { c.GradientSmoothing = 0 }, "GRADIENT_SMOOTHING"},
		{"window 0", func(c *Config) { c.GradientWindow = 0 }, "GRADIENT_WINDOW"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New() error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.MinBatch, c.Policy = 0, "nope"
	err := c.Validate()
	for _, name := range []string{"MIN_BATCH", "BATCH_POLICY"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate() = %v, want it to mention %s", err, name)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"BATCH_POLICY": " Gradient ", "MIN_BATCH": "2", "MAX_BATCH": "50", "INITIAL_BATCH": "5",
		"SLOW_CALL": "750ms", "MIN_SAMPLES": "4", "BACKOFF_RATIO": "0.3", "BACKOFF_FACTOR": "0.7",
		"TRIP_AFTER": "2", "GRADIENT_TOLERANCE": "2", "GRADIENT_SMOOTHING": "0.5", "GRADIENT_WINDOW": "10",
		"MIN_CONCURRENCY": "2", "MAX_CONCURRENCY": "40", "INITIAL_CONCURRENCY": "3", "BATCH_FACTOR": "3",
		"BUDGET_SHARE": "0.4", "BATCH_TIME": "2s", "KNEE_TOLERANCE": "1.5", "BASELINE_WINDOW": "2m",
		"WAKE_AFTER": "45s", "UNRELATED": "x",
	}
	got, err := LoadConfig(lookupIn(env))
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	want := Config{
		Policy: PolicyGradient, MinBatch: 2, MaxBatch: 50, InitialBatch: 5, SlowCall: 750 * time.Millisecond,
		MinSamples: 4, BackoffRatio: 0.3, BackoffFactor: 0.7, TripAfter: 2, GradientTolerance: 2,
		GradientSmoothing: 0.5, GradientWindow: 10, MinConcurrency: 2, MaxConcurrency: 40, InitialConcurrency: 3,
		BatchFactor: 3, BatchTime: 2 * time.Second, BudgetShare: 0.4, KneeTolerance: 1.5, BaselineWindow: 2 * time.Minute,
		WakeAfter: 45 * time.Second,
	}
	if got != want {
		t.Errorf("LoadConfig() = %+v, want %+v", got, want)
	}
}

func TestLoadConfigDefaultsWhenUnsetOrEmpty(t *testing.T) {
	got, err := LoadConfig(lookupIn(map[string]string{"MIN_BATCH": ""}))
	if err != nil || got != DefaultConfig() {
		t.Errorf("LoadConfig() = %+v, %v; want the defaults", got, err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"MIN_BATCH": "one"}, `MIN_BATCH must be an integer, got "one"`},
		{map[string]string{"SLOW_CALL": "1"}, "SLOW_CALL must be a Go duration"},
		{map[string]string{"BACKOFF_RATIO": "half"}, "BACKOFF_RATIO must be a number"},
		{map[string]string{"MAX_BATCH": "0"}, "MAX_BATCH must be between 1 and 10000, got 0"},
		{map[string]string{"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY (the provider's limit on calls in flight) must be between 1 and 10000, got 0"},
		{map[string]string{"MIN_CONCURRENCY": "5", "MAX_CONCURRENCY": "4"}, "MIN_CONCURRENCY (5) must not exceed MAX_CONCURRENCY (4)"},
		{map[string]string{"BATCH_POLICY": "fixed"}, `BATCH_POLICY must be one of pace, knee, step, aimd, gradient; got "fixed"`},
		// 0 is the field's "unset" inside Config, but a 0 written in the environment is a value
		// below the bounds, not a request for the default.
		{map[string]string{"INITIAL_BATCH": "0"}, "INITIAL_BATCH must be between MIN_BATCH (1) and MAX_BATCH (100), got 0"},
		{map[string]string{"INITIAL_CONCURRENCY": "0"}, "INITIAL_CONCURRENCY must be between MIN_CONCURRENCY (1) and MAX_CONCURRENCY (10), got 0"},
	}
	for _, tt := range tests {
		_, err := LoadConfig(lookupIn(tt.env))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadConfig(%v) error = %v, want ErrInvalidConfig mentioning %q", tt.env, err, tt.want)
		}
	}
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}
