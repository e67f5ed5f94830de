package client

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/breakerbox/breakerbox/internal/envnames"
)

// envConfig is what the client takes from the environment, with the mistakes found in it.
type envConfig struct {
	port     int
	failOpen bool
	token    string

	portErr, failModeErr, authErr, disabledErr error
}

// readEnv reads the variables the extension reads too, with the extension's rules, so that a value
// the extension would refuse at init is refused here as well instead of read as a default.
func readEnv(getenv func(string) string) envConfig {
	e := envConfig{port: DefaultPort, failOpen: true}
	if v := strings.TrimSpace(getenv("BREAKERBOX_PORT")); v != "" {
		// Digits only, as the extension and the Python and Node clients read it: Atoi alone takes
		// "+4243", which the extension refuses at init.
		p, err := strconv.Atoi(v)
		if err != nil || strings.TrimLeft(v, "0123456789") != "" || p < 1 || p > 65535 {
			e.portErr = fmt.Errorf("BREAKERBOX_PORT=%q is not valid: want the extension's TCP port, 1 to 65535 (default %d)", v, DefaultPort)
		} else {
			e.port = p
		}
	}
	switch v := strings.TrimSpace(getenv("BREAKERBOX_FAIL_MODE")); strings.ToLower(v) {
	case "", "open":
	case "closed":
		e.failOpen = false
	default:
		e.failModeErr = fmt.Errorf("BREAKERBOX_FAIL_MODE=%q is not valid: want open (allow calls when the extension cannot answer) or closed (deny them)", v)
	}
	switch v := strings.TrimSpace(getenv("BREAKERBOX_AUTH")); strings.ToLower(v) {
	case "":
		e.token = getenv("AWS_SESSION_TOKEN")
	case "token":
		e.token = getenv("AWS_SESSION_TOKEN")
		if e.token == "" {
			e.authErr = fmt.Errorf("BREAKERBOX_AUTH=%q needs AWS_SESSION_TOKEN, which is not set (use none for local work)", v)
		}
	case "none":
	default:
		e.authErr = fmt.Errorf("BREAKERBOX_AUTH=%q is not valid: want token or none", v)
	}
	if _, err := disabledFrom(getenv); err != nil {
		e.disabledErr = err
	}
	return e
}

// EnvDisabled bypasses the breaker when "true": Do runs fn without asking the extension or
// reporting, for tests. It is read at every call, so a test may set it after the client was made.
const EnvDisabled = "BREAKERBOX_DISABLED"

// disabledFrom reads BREAKERBOX_DISABLED: true, false or unset.
func disabledFrom(getenv func(string) string) (bool, error) {
	switch v := strings.TrimSpace(getenv(EnvDisabled)); strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q is not valid: want true (bypass the breaker, for tests) or false", EnvDisabled, v)
	}
}

// disabled reports whether the breaker is bypassed now: WithDisabled's value, else
// BREAKERBOX_DISABLED as it is at this call.
func (c *Client) disabled() (bool, error) {
	if c.set.disabled {
		return c.disabledOpt, nil
	}
	d, err := disabledFrom(os.Getenv)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return d, nil
}

// warnedNames holds the unknown variables already named in this process: each is named once.
var warnedNames sync.Map

// warnUnknownNames logs a warning, once per process, for every BREAKERBOX_* variable of environ that
// no part of breakerbox reads, naming the closest known one (BREAKERBOX_FAILMODE: did you mean
// BREAKERBOX_FAIL_MODE?).
func warnUnknownNames(log *slog.Logger, environ []string) {
	for _, u := range envnames.Find(environ) {
		if _, dup := warnedNames.LoadOrStore(u.Name, true); !dup {
			log.Warn("breakerbox: "+u.Message(), "variable", u.Name, "closest", u.Closest)
		}
	}
}
