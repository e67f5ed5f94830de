package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"BREAKERBOX_TABLE": "circuits"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "circuits" || c.EventBus != "default" || c.StoreTimeout != 500*time.Millisecond ||
		c.Concurrency != check.DefaultConcurrency || c.Heartbeat != check.DefaultHeartbeat || c.Policy.ConsecutiveFailures != 3 {
		t.Fatalf("%+v", c)
	}
}

func TestConfigOverrides(t *testing.T) {
	c, err := loadConfig(env(map[string]string{
		"BREAKERBOX_TABLE": "t", "BREAKERBOX_EVENT_BUS": "ops", "BREAKERBOX_STORE_TIMEOUT": "2s",
		"CHECKER_CONCURRENCY": "8", "BREAKERBOX_CONSECUTIVE_FAILURES": "5", "CHECKER_HEARTBEAT": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.EventBus != "ops" || c.StoreTimeout != 2*time.Second || c.Concurrency != 8 || c.Policy.ConsecutiveFailures != 5 || c.Heartbeat >= 0 {
		t.Fatalf("%+v", c)
	}
}

func TestConfigErrorsNameEveryVariable(t *testing.T) {
	_, err := loadConfig(env(map[string]string{
		"BREAKERBOX_STORE_TIMEOUT": "fast", "CHECKER_CONCURRENCY": "0", "BREAKERBOX_MIN_CALLS": "x",
	}))
	for _, want := range []string{"BREAKERBOX_TABLE is required", "BREAKERBOX_STORE_TIMEOUT=\"fast\"", "CHECKER_CONCURRENCY=\"0\"", "BREAKERBOX_MIN_CALLS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to name %s", err, want)
		}
	}
}

func TestSetupBuildsTheHandlerOrSaysWhatIsMissing(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if _, err := setup(context.Background(), env(nil), log); err == nil || !strings.Contains(err.Error(), "BREAKERBOX_TABLE is required") {
		t.Fatalf("without a table: %v", err)
	}
	h, err := setup(context.Background(), env(map[string]string{"BREAKERBOX_TABLE": "circuits"}), log)
	if err != nil || h == nil {
		t.Fatalf("setup: %v", err)
	}
}
