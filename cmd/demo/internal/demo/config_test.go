package demo

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

func TestDefaultConfigIsValidAndShort(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("the default configuration is invalid: %v", err)
	}
	// make demo must fit in three minutes with the builds, set-up and the drain.
	if c.Duration() > 90*time.Second {
		t.Errorf("default scenario lasts %s: too long for a three-minute demo", c.Duration())
	}
	if got := len(c.Scenario().Phases); got != 4 {
		t.Errorf("%d phases, want 4", got)
	}
}

func TestFlags(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	c.RegisterFlags(fs)
	err := fs.Parse([]string{"-down", "30s", "-degraded", "0", "-policy", "step", "-max-batch", "20", "-degraded-errors", "0.3", "-seed", "42"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Down != 30*time.Second || c.Policy != "step" || c.MaxBatch != 20 || c.DegradedErrors != 0.3 || c.Seed != 42 {
		t.Errorf("flags not applied: %+v", c)
	}
	sc := c.Scenario()
	if len(sc.Phases) != 3 || sc.Find("degraded") != -1 {
		t.Errorf("a phase of length 0 must be left out: %+v", sc.Phases)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid flags rejected: %v", err)
	}
}

func TestValidateNamesTheFlags(t *testing.T) {
	c := DefaultConfig()
	c.Policy, c.DegradedErrors, c.DegradedSlow, c.Recovered, c.Window, c.Rate, c.Color, c.Circuit = "fast", 0.8, 0.5, 0, 10*time.Second, 0, "blue", "bad id!"
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"-policy", "-degraded-errors plus -degraded-slow", "-recovered", "-window", "-rate", "-color", "-circuit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestLetterID(t *testing.T) {
	for body, want := range map[string]string{
		`{"key":"payments#2026-11-22#order-7","record":{}}`:                                                   "order-7",
		`{"key":"payments#2026-11-22#delivery:abc","record":{"kinesis":{"data":"eyJpZCI6Im9yZGVyLTgifQ=="}}}`: "order-8",
		`{"key":"","record":{"kinesis":{"data":"bm90IGpzb24="}}}`:                                             "(letter without a record id)",
		`not json`: "(unreadable letter)",
	} {
		if got := letterID(body); got != want {
			t.Errorf("letterID(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestCaughtUp(t *testing.T) {
	starts := map[string]time.Duration{"healthy": 0, "down": 10 * time.Second, "recovered": 20 * time.Second}
	samples := []timeline.Sample{
		{At: 5 * time.Second, Fed: 40, Done: 40},    // healthy, but before the recovery
		{At: 21 * time.Second, Fed: 170, Done: 80},  // backlog
		{At: 25 * time.Second, Fed: 200, Done: 180}, // still 20 waiting
		{At: 28 * time.Second, Fed: 225, Done: 219}, // within a second's worth of 8/s
		{At: 30 * time.Second, Fed: 240, Done: 240},
	}
	if got := caughtUp(samples, starts, 8); got != 28*time.Second {
		t.Errorf("caught up at %s, want 28s", got)
	}
	if got := caughtUp(samples[:3], starts, 8); got != 0 {
		t.Errorf("caught up at %s, want never (0)", got)
	}
	delete(starts, "recovered")
	if got := caughtUp(samples, starts, 8); got != 0 {
		t.Errorf("without a recovered phase: %s, want 0", got)
	}
}

// TestValidateRefusesNaNAndHugePhases checks that NaN, which every comparison lets through, is
// refused for the shares and the rate (the demo ran, "fed NaN records/s"), and that phases whose
// sum overflows are refused as too long rather than as lasting nothing.
func TestValidateRefusesNaNAndHugePhases(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-rate", "NaN"}, "-rate: want more than 0 and at most 200 records per second, got NaN"},
		{[]string{"-degraded-errors", "NaN"}, "-degraded-errors: want a share from 0 to 1, got NaN"},
		{[]string{"-degraded-slow", "NaN"}, "-degraded-slow: want a share from 0 to 1, got NaN"},
		{[]string{"-down-errors", "NaN"}, "-down-errors: want a share from 0 to 1, got NaN"},
		{[]string{"-healthy", "2562047h", "-degraded", "2562047h"}, "-healthy: at most 24h0m0s for a phase"},
	} {
		cfg := DefaultConfig()
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		cfg.RegisterFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want an error with %q", c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "at least one phase must last") {
			t.Errorf("%q: %v; the phases do last", c.args, err)
		}
	}
}
