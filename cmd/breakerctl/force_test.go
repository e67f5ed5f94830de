package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestForceAgainSaysTheNewReason: forcing a circuit already in that state writes the new reason
// (and a new version); the answer says so instead of only "already FORCED_OPEN".
func TestForceAgainSaysTheNewReason(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("again-%d", seq.Add(1))
	c.must("force-open", id, "--reason", "maintenance until 14:00")
	out := c.must("force-open", id, "--reason", "maintenance until 16:00")
	if want := id + `: already FORCED_OPEN; reason now "FORCED_OPEN: maintenance until 16:00" (version 2)`; strings.TrimSpace(out) != want {
		t.Errorf("force-open again: %q, want %q", out, want)
	}
	if out := c.must("get", id); !strings.Contains(out, "maintenance until 16:00") {
		t.Errorf("get after force-open again:\n%s", out)
	}
}

// TestEndpointWithoutSchemeIsNamed: AWS_ENDPOINT_URL=127.0.0.1:5000, the scheme forgotten, ended
// in the SDK's "failed to resolve service endpoint, Failed to parse uri"; it is named before any
// call, with the form it takes.
func TestEndpointWithoutSchemeIsNamed(t *testing.T) {
	c := newCtl(t)
	for name, value := range map[string]string{
		"AWS_ENDPOINT_URL":             "127.0.0.1:5000",
		"AWS_ENDPOINT_URL_DYNAMODB":    "localhost:5000",
		"AWS_ENDPOINT_URL_EVENTBRIDGE": "ftp://127.0.0.1:5000",
	} {
		c.env[name] = value
		_, errOut, code := c.run("circuits")
		delete(c.env, name)
		want := fmt.Sprintf("%s=%q is not an endpoint URL: want http:// or https://, a host and a port, e.g. %s=http://127.0.0.1:5000", name, value, name)
		if code != exitError || !strings.Contains(errOut, want) {
			t.Errorf("%s=%s: exit %d %q, want exit %d and %q", name, value, code, errOut, exitError, want)
		}
	}
}
