package client

import (
	"fmt"
	"strconv"
	"strings"
)

// envConfig is what the client takes from the environment, with the mistakes found in it.
type envConfig struct {
	port     int
	failOpen bool
	token    string

	portErr, failModeErr, authErr error
}

// readEnv reads the variables the extension reads too, with the extension's rules, so that a value
// the extension would refuse at init is refused here as well instead of read as a default.
func readEnv(getenv func(string) string) envConfig {
	e := envConfig{port: DefaultPort, failOpen: true}
	if v := strings.TrimSpace(getenv("BREAKERBOX_PORT")); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
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
	case "", "token":
		e.token = getenv("AWS_SESSION_TOKEN")
	case "none":
	default:
		e.authErr = fmt.Errorf("BREAKERBOX_AUTH=%q is not valid: want token or none", v)
	}
	return e
}
