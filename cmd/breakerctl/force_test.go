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
