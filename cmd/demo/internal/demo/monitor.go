package demo

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/provider"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/scenario"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/store"
)

// sampleEvery is the monitor's period: how often the circuit, the mapping and the counters are
// read. Shorter states than this (a failed probe's HALF_OPEN) may be seen only afterwards.
const sampleEvery = 100 * time.Millisecond

// dlqEvery is how often the dead-letter queue's size is read.
const dlqEvery = time.Second

// circuitReader reads the circuit (a *store.Store).
type circuitReader interface {
	GetConsistent(ctx context.Context, id string) (circuit.Circuit, error)
}

// monitor watches the system and turns what it sees into samples and events.
type monitor struct {
	clock    *scenario.Clock
	circuit  string
	circuits circuitReader
	mapping  func() lambdaenv.PollerStats
	// concurrency is the ventilator's latest concurrency metric (0 before the first).
	concurrency func() int
	// wakes holds each "mapping enabled" event until the wake-up that caused it is known.
	wakes    *wakeHold
	provider *provider.Provider
	fed      func() int
	sqs      *sqs.Client
	dlqURL   string
	slow     time.Duration
	rec      *timeline.Recorder
	printer  *timeline.Printer
	log      *slog.Logger

	// state between ticks
	phase        int
	seen         circuit.Circuit
	mappingState string
	dlq          int
	lastDLQ      time.Time
	lastRow      time.Time
	rowEvery     time.Duration
}

// run samples until ctx ends.
func (m *monitor) run(ctx context.Context) {
	m.phase = -1
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-ctx.Done():
			m.emit(m.wakes.poll(time.Now(), true))
			return
		case <-t.C:
		}
	}
}

// emit records and prints events in order.
func (m *monitor) emit(events []timeline.Event) {
	for _, e := range events {
		m.event(e)
	}
}

// tick takes one sample, records the events since the last one, and prints a row when due.
func (m *monitor) tick(ctx context.Context) {
	now := time.Now()
	at := m.clock.Elapsed()
	i, ph := m.clock.Current()
	if i != m.phase {
		m.phase = i
		m.event(timeline.Event{Time: now, At: m.clock.Offset(i), Kind: timeline.KindPhase, To: ph.Name, Reason: ph.Describe(m.slow), Phase: ph.Name})
	}
	m.readCircuit(ctx, now, at, ph.Name)
	ms := m.mapping()
	if ms.State != "" && ms.State != m.mappingState {
		if m.mappingState != "" || ms.State != "Enabled" {
			e := timeline.Event{Time: now, At: at, Kind: timeline.KindMapping, From: m.mappingState, To: ms.State, Batch: ms.BatchSize, Phase: ph.Name}
			if ms.State == "Enabled" {
				m.emit(m.wakes.enabled(e, now))
			} else {
				m.emit(m.wakes.poll(now, true))
				m.event(e)
			}
		}
		m.mappingState = ms.State
	}
	m.emit(m.wakes.poll(now, false))
	if now.Sub(m.lastDLQ) >= dlqEvery {
		m.lastDLQ = now
		if n, err := m.dlqSize(ctx); err == nil {
			m.dlq = n
		} else if ctx.Err() == nil {
			m.log.Warn("read the dead-letter queue's size", "error", err.Error())
		}
	}
	ps := m.provider.Stats()
	s := timeline.Sample{
		At: at, Phase: ph.Name, Circuit: label(m.seen), Mapping: m.mappingState, Batch: ms.BatchSize, Concurrency: m.concurrencyNow(),
		Calls: ps.Calls, Errors: ps.Errors, Slow: ps.Slow, Succeeded: ps.Succeeded,
		Fed: m.fed(), Done: int(ps.Records) + m.dlq, DLQ: m.dlq,
	}
	m.rec.Sample(s)
	if now.Sub(m.lastRow) >= m.rowEvery {
		m.lastRow = now
		m.printer.Row(s)
	}
	left := m.clock.Left()
	m.printer.Progress(at, m.clock.Duration(), ph.Name, left, s.Fed, s.Done, s.DLQ)
}

// readCircuit reads the circuit and records a transition when its label or its Since changed.
func (m *monitor) readCircuit(ctx context.Context, now time.Time, at time.Duration, phase string) {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := m.circuits.GetConsistent(cctx, m.circuit)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return
	case err != nil:
		if ctx.Err() == nil {
			m.log.Warn("read the circuit", "circuit", m.circuit, "error", err.Error())
		}
		return
	}
	prev := m.seen
	m.seen = c
	from, to := label(prev), label(c)
	if from == to && prev.Since.Equal(c.Since) {
		return
	}
	e := timeline.Event{Time: now, At: at, Kind: timeline.KindCircuit, Circuit: m.circuit, From: from, To: to, Reason: c.Reason, Version: c.Version, Phase: phase}
	if from == to && from == string(circuit.Open) {
		// OPEN, then OPEN again since another moment: a probe failed in a HALF_OPEN shorter than a tick.
		e.Via = string(circuit.HalfOpen)
	}
	if !c.Since.IsZero() && c.Since.Before(now) && now.Sub(c.Since) < 5*time.Second {
		e.At -= now.Sub(c.Since) // the writer's own time of the transition
		e.Time = c.Since
	}
	m.event(e)
}

func (m *monitor) event(e timeline.Event) {
	m.rec.Event(e)
	m.printer.Event(e)
	m.log.Info("event", "kind", e.Kind, "from", e.From, "to", e.To, "via", e.Via, "reason", e.Reason, "phase", e.Phase, "t", e.At.Seconds())
}

// concurrencyNow is the ventilator's latest concurrency, 0 when unknown.
func (m *monitor) concurrencyNow() int {
	if m.concurrency == nil {
		return 0
	}
	return m.concurrency()
}

// label is a circuit's label, "" before it exists.
func label(c circuit.Circuit) string {
	if !c.Exists() {
		return ""
	}
	return c.Label()
}

// dlqSize is the dead-letter queue's approximate number of messages.
func (m *monitor) dlqSize(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := m.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(m.dlqURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n, nil
}
