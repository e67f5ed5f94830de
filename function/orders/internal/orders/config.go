// Package orders is breakerbox's synchronous example: to place an order it asks the extension, checks
// the inventory service, reports how the call went, and falls back to DOWNSTREAM_UNAVAILABLE when
// the circuit is open or the call fails, all through the extension client's Do.
package orders

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Environment variables read by LoadConfig.
const (
	EnvInventoryURL     = "INVENTORY_URL"
	EnvInventoryCircuit = "INVENTORY_CIRCUIT"
	EnvInventoryTimeout = "INVENTORY_TIMEOUT"
)

// ErrInvalidConfig is wrapped by every error of LoadConfig.
var ErrInvalidConfig = errors.New("invalid orders configuration")

// Config is the example's validated configuration.
type Config struct {
	// InventoryURL is the inventory service's availability endpoint; the function sends
	// GET <url>?sku=...&quantity=... (INVENTORY_URL, required).
	InventoryURL string
	// Circuit guards the inventory service (INVENTORY_CIRCUIT, default "inventory").
	Circuit string
	// Timeout bounds one inventory call (INVENTORY_TIMEOUT, default 3s).
	Timeout time.Duration
}

// LoadConfig reads and validates the configuration; every error names its variable.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	c := Config{Circuit: "inventory", Timeout: 3 * time.Second}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	get := func(name string) string { v, _ := lookup(name); return strings.TrimSpace(v) }
	c.InventoryURL = get(EnvInventoryURL)
	if u, err := url.Parse(c.InventoryURL); c.InventoryURL == "" {
		bad("%s is required and not set", EnvInventoryURL)
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("%s must be an http or https URL, got %q", EnvInventoryURL, c.InventoryURL)
	}
	if v := get(EnvInventoryCircuit); v != "" {
		if err := circuit.ValidateID(v); err != nil {
			bad("%s: %v", EnvInventoryCircuit, err)
		}
		c.Circuit = v
	}
	if v := get(EnvInventoryTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 15*time.Minute {
			bad("%s must be a positive Go duration such as 3s, got %q", EnvInventoryTimeout, v)
		} else {
			c.Timeout = d
		}
	}
	return c, errors.Join(errs...)
}
