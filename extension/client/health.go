package client

import (
	"log/slog"
	"sync"
)

// health is what this process knows of one extension's reachability. It is shared by every client
// of the process that talks to the same address, so that the warning is logged once per process:
// when the extension first cannot be reached, and again each time it came back and went away.
type health struct {
	mu   sync.Mutex
	down bool
}

var (
	healthMu sync.Mutex
	healths  = map[string]*health{}
)

// healthOf returns the process's health record of the extension at base.
func healthOf(base string) *health {
	healthMu.Lock()
	defer healthMu.Unlock()
	h := healths[base]
	if h == nil {
		h = &health{}
		healths[base] = h
	}
	return h
}

// unreachableNow records a call decided without the extension's answer, and logs the warning when
// the extension was not already known to be down.
func (c *Client) unreachableNow(err error) {
	c.unreachable.Add(1)
	h := healthOf(c.base)
	h.mu.Lock()
	first := !h.down
	h.down = true
	h.mu.Unlock()
	if !first {
		return
	}
	what := "calls go out WITHOUT circuit-breaker protection (BREAKERBOX_FAIL_MODE=open)"
	if !c.failOpen {
		what = "calls are DENIED (BREAKERBOX_FAIL_MODE=closed)"
	}
	c.log.Warn("breakerbox: the extension gave no answer at "+c.base+": "+what+
		". Check that the breakerbox layer is attached to the function, that BREAKERBOX_PORT matches the extension's, and the extension's own log lines (it logs why it stopped). Client.UnreachableCalls() counts these calls; this warning is logged again only if the extension comes back and goes away.",
		"error", err.Error(), "extension", c.base, "failOpen", c.failOpen)
}

// reachableNow records an answer of the extension, and logs it when the extension was down.
func (c *Client) reachableNow() {
	h := healthOf(c.base)
	h.mu.Lock()
	was := h.down
	h.down = false
	h.mu.Unlock()
	if was {
		c.log.Info("breakerbox: the extension answers again at "+c.base+": calls are protected again", slog.String("extension", c.base))
	}
}
