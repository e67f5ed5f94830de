package check

import "github.com/breakerbox/breakerbox/internal/events"

// Summary is what one invocation did; the handler returns it and logs it.
type Summary struct {
	Targets []TargetResult `json:"targets"`
	// Probed counts targets that were probed and recorded; Healthy and Failed split them.
	Probed  int `json:"probed"`
	Healthy int `json:"healthy"`
	Failed  int `json:"failed"`
	// Skipped counts targets not probed on purpose (OPEN, FORCED_OPEN, permit held elsewhere).
	Skipped int `json:"skipped"`
	// Errors counts targets whose check could not be recorded (store error, invocation deadline).
	Errors          int `json:"errors"`
	Transitions     int `json:"transitions"`
	PublishFailures int `json:"publishFailures"`
}

// TargetResult is one target's check.
type TargetResult struct {
	ID string `json:"id"`
	// URL is the probed URL with any password redacted.
	URL string `json:"url"`
	// Probed is true when a request was sent and its outcome applied to the circuit.
	Probed bool `json:"probed"`
	// Recorded is true when the check was written. A healthy check that changes nothing is written
	// only once per heartbeat (Config.Heartbeat).
	Recorded bool `json:"recorded"`
	// OK is the probe's verdict: expected status within the slow-call threshold.
	OK        bool  `json:"ok"`
	LatencyMs int64 `json:"latencyMs"`
	Status    int   `json:"status,omitempty"`
	// Error is the probe's failure class, as written to the circuit's lastError.
	Error string `json:"error,omitempty"`
	// Skipped says why no probe was sent, e.g. "open until 2026-01-02T15:04:05Z".
	Skipped string `json:"skipped,omitempty"`
	// State is the circuit's label after the check: its override if set, else its state.
	State   string `json:"state,omitempty"`
	Version int64  `json:"version,omitempty"`
	// Transitions are the state changes this check wrote, oldest first (OPEN → HALF_OPEN → ...).
	Transitions []events.Detail `json:"transitions,omitempty"`
	// StoreError is set when the check could not be read or recorded.
	StoreError string `json:"storeError,omitempty"`
	// PublishError is set when a transition was written but not published.
	PublishError string `json:"publishError,omitempty"`

	publishFailed int
}

func (s *Summary) add(r TargetResult) {
	s.Targets = append(s.Targets, r)
	switch {
	case r.StoreError != "":
		s.Errors++
	case r.Skipped != "":
		s.Skipped++
	case r.OK:
		s.Probed++
		s.Healthy++
	default:
		s.Probed++
		s.Failed++
	}
	s.Transitions += len(r.Transitions)
	s.PublishFailures += r.publishFailed
}
