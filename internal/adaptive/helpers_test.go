package adaptive

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// sample is one batch of calls, errors and slow successes, each success taking lat.
func sample(calls, errors, slow int, lat time.Duration) Batch {
	ok := calls - errors
	return Batch{Batches: 1, Calls: calls, Errors: errors, Slow: slow,
		OKLatency: time.Duration(ok) * lat, MaxLatency: lat}
}

// newController builds a controller for policy with the defaults and the given changes.
func newController(t testing.TB, policy string, change func(*Config)) Controller {
	t.Helper()
	c := DefaultConfig()
	c.Policy = policy
	c.MaxConcurrency = 100 // the tests' figures were written for a roomy provider
	if change != nil {
		change(&c)
	}
	ctl, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v) error = %v", c, err)
	}
	return ctl
}

// at returns the controller's state at concurrency n.
func at(ctl Controller, n int) State {
	s := ctl.Initial(t0)
	s.Concurrency = n
	s.Limit = float64(n)
	if ctl.Policy() != PolicyGradient {
		s.Limit = 0
	}
	return s
}
