package extensionsapi

import (
	"errors"
	"fmt"
	"strings"
)

// CheckAddress checks runtimeAPI, the value of AWS_LAMBDA_RUNTIME_API, before a client of one of the
// sandbox's APIs (Extensions, Telemetry) is built on it: it must be set, and a host:port.
func CheckAddress(runtimeAPI string) error {
	if runtimeAPI == "" {
		return errors.New("runtime API address is empty (AWS_LAMBDA_RUNTIME_API is not set)")
	}
	if strings.Contains(runtimeAPI, "/") {
		return fmt.Errorf("runtime API address %q: want host:port", runtimeAPI)
	}
	return nil
}
