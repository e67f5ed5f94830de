// Package timeline records what the demo saw — periodic samples of the provider, the circuit, the
// event source mapping and the records, and the events between them (phase changes, circuit
// transitions, the mapping paused or resumed) — prints them as a readable live timeline, and writes
// the events as JSON lines.
package timeline

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Sample is the state of the system at one moment. Counters are cumulative.
type Sample struct {
	// At is the time since the scenario started.
	At time.Duration
	// Phase is the scenario phase's name.
	Phase string
	// Circuit is the circuit's label (CLOSED, OPEN, HALF_OPEN, FORCED_...), "" before it exists.
	Circuit string
	// Mapping is the event source mapping's state (Enabled, Disabled, ...) and Batch its batch size.
	Mapping string
	Batch   int // the mapping's batch size
	// Concurrency is the ventilators' calls in flight at most, as the ventilator's latest metric
	// line said (0 before the first).
	Concurrency int
	// Calls, Errors, Slow and Succeeded are the provider's counters.
	Calls, Errors, Slow, Succeeded int64
	// Fed counts records accepted by the stream; Done those that succeeded or went to the
	// dead-letter queue; DLQ those in the dead-letter queue.
	Fed, Done, DLQ int
}

// Enabled reports whether the mapping was delivering records.
func (s Sample) Enabled() bool { return s.Mapping == "Enabled" || s.Mapping == "Updating" }

// Kinds of event.
const (
	KindPhase   = "phase"
	KindCircuit = "circuit"
	KindMapping = "mapping"
)

// Event is a change worth a line of its own.
type Event struct {
	// Time is the wall-clock time; At the time since the scenario started.
	Time time.Time     `json:"time"`
	At   time.Duration `json:"-"`
	// Seconds is At in seconds, for the JSON lines.
	Seconds float64 `json:"t"`
	// Kind is KindPhase, KindCircuit or KindMapping.
	Kind string `json:"kind"`
	// Circuit is the circuit id (circuit events).
	Circuit string `json:"circuit,omitempty"`
	// From and To are the states before and after (the phase's name for a phase event).
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Via is a state the circuit went through between two observations (a short HALF_OPEN).
	Via string `json:"via,omitempty"`
	// Reason says why: the circuit's reason, or what the provider does in a phase.
	Reason string `json:"reason,omitempty"`
	// Version is the circuit item's version after the transition.
	Version int64 `json:"version,omitempty"`
	// Phase is the scenario phase the event happened in.
	Phase string `json:"phase"`
	// Batch is the mapping's batch size (mapping events).
	Batch int `json:"batchSize,omitempty"`
}

// Recorder keeps the samples and events; it is safe for concurrent use. Every event is also
// written as a JSON line to the events writer, when set, as it happens.
type Recorder struct {
	mu      sync.Mutex
	samples []Sample
	events  []Event
	out     io.Writer
	werr    error
}

// NewRecorder returns a Recorder that writes events to out (nil: nowhere).
func NewRecorder(out io.Writer) *Recorder { return &Recorder{out: out} }

// Sample records s.
func (r *Recorder) Sample(s Sample) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// Event records e and writes it as one JSON line.
func (r *Recorder) Event(e Event) {
	e.Seconds = float64(e.At.Milliseconds()) / 1000
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if r.out == nil || r.werr != nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		_, err = r.out.Write(append(b, '\n'))
	}
	if err != nil {
		r.werr = fmt.Errorf("timeline: write event: %w", err)
	}
}

// Err is the first error writing events, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.werr
}

// Samples returns a copy of the samples.
func (r *Recorder) Samples() []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sample(nil), r.samples...)
}

// Events returns a copy of the events.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Last returns the last sample and whether there is one.
func (r *Recorder) Last() (Sample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return Sample{}, false
	}
	return r.samples[len(r.samples)-1], true
}
