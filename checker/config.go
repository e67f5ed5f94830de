package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
)

// config is the checker's validated environment.
type config struct {
	Table          string
	EventBus       string
	StoreTimeout   time.Duration
	PublishTimeout time.Duration
	Concurrency    int
	Heartbeat      time.Duration
	Policy         circuit.Policy
}

// defaultStoreTimeout bounds each DynamoDB call, as in the extension.
const defaultStoreTimeout = 500 * time.Millisecond

// loadConfig reads and validates the environment, reporting every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Table:          strings.TrimSpace(getenv("BREAKERBOX_TABLE")),
		EventBus:       strings.TrimSpace(getenv("BREAKERBOX_EVENT_BUS")),
		StoreTimeout:   defaultStoreTimeout,
		PublishTimeout: 2 * time.Second,
		Concurrency:    check.DefaultConcurrency,
		Heartbeat:      check.DefaultHeartbeat,
	}
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New("BREAKERBOX_TABLE is required: set it to the breakerbox DynamoDB table's name"))
	}
	if c.EventBus == "" {
		c.EventBus = events.DefaultBus
	}
	if err := duration(getenv, "BREAKERBOX_STORE_TIMEOUT", &c.StoreTimeout); err != nil {
		errs = append(errs, err)
	}
	if err := duration(getenv, "BREAKERBOX_PUBLISH_TIMEOUT", &c.PublishTimeout); err != nil {
		errs = append(errs, err)
	}
	if v := strings.TrimSpace(getenv("CHECKER_HEARTBEAT")); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil || d < 0:
			errs = append(errs, fmt.Errorf("CHECKER_HEARTBEAT=%q: want a Go duration such as 5m, or 0 to write every check", v))
		case d == 0:
			c.Heartbeat = -1 // write every check
		default:
			c.Heartbeat = d
		}
	}
	if v := strings.TrimSpace(getenv("CHECKER_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("CHECKER_CONCURRENCY=%q: want a whole number from 1 to 1000", v))
		}
		c.Concurrency = n
	}
	p, err := circuit.PolicyFromEnv(circuit.DefaultPolicy(), getenv)
	if err != nil {
		errs = append(errs, err)
	}
	c.Policy = p
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("checker configuration: %w", err)
	}
	return c, nil
}

func duration(getenv func(string) string, name string, dst *time.Duration) error {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%s=%q: want a positive Go duration such as 500ms or 2s", name, v)
	}
	*dst = d
	return nil
}
