// Package summary computes the demo's verdict from what was measured — the ids fed to the stream,
// the provider's own ledger of successful calls per id, the dead-letter queue's messages and the
// recorded circuit transitions — and prints it, ending with one greppable line:
//
//	summary: fed=N succeeded=N dlq=N lost=N duplicates=N trips=N recoveries=N
package summary

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

// Input is what the summary is computed from.
type Input struct {
	// Fed are the ids the stream accepted.
	Fed []string
	// Successes counts the provider's successful calls per id.
	Successes map[string]int
	// DeadLettered counts the dead-letter queue's messages per id.
	DeadLettered map[string]int
	// Dedup counts the dedup table's items per status (done, dlq, failed, claimed), when read.
	Dedup map[string]int
	// Events are the recorded events; PhaseStarts the start of each phase by name, since the start.
	Events []timeline.Event
	// PhaseStarts is the start of each phase, by name, since the start.
	PhaseStarts map[string]time.Duration
	// CaughtUp is when the backlog built up during the outage was worked off after the recovery,
	// since the start; 0 if it never was.
	CaughtUp time.Duration
	// Interrupted is set when the demo was stopped before the backlog drained: records not done are
	// then pending, not lost.
	Interrupted bool
}

// Summary is the demo's verdict.
type Summary struct {
	// Fed counts the records the stream accepted.
	Fed int
	// Succeeded counts fed records the provider charged exactly once; Duplicates those charged
	// more than once.
	Succeeded, Duplicates int
	// DLQ counts fed records in the dead-letter queue (and never charged).
	DLQ int
	// SucceededAndDLQ counts records both charged and dead-lettered (a worker call that succeeded
	// at the provider but failed for the ventilator).
	SucceededAndDLQ int
	// Lost counts fed records neither charged nor dead-lettered at the end of a complete run;
	// Pending counts them instead when the run was interrupted.
	Lost, Pending int
	// Unknown counts ids charged or dead-lettered that were never fed (should be 0).
	Unknown int
	// LostIDs lists up to 10 lost (or pending) ids.
	LostIDs []string
	// Trips counts CLOSED → OPEN transitions; Recoveries transitions back to CLOSED.
	Trips, Recoveries int
	// Pauses counts the times the ventilator disabled its mapping.
	Pauses int
	// TripIn and RecoverIn are the first trip and the last recovery, each as a time into its phase.
	TripIn, RecoverIn *PhaseTime
	// CaughtUp is when the backlog was worked off, as a time into the phase it happened in.
	CaughtUp *PhaseTime
	// Dedup counts the dedup table's items per status.
	Dedup map[string]int
	// Interrupted is copied from the Input.
	Interrupted bool
}

// PhaseTime is a moment as a time into a phase.
type PhaseTime struct {
	// Phase is the phase's name; Into the time since it started.
	Phase string
	Into  time.Duration
}

// String says it in words, e.g. "1.2s after the provider went down"; "-" for nil.
func (p *PhaseTime) String() string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1fs after the provider %s", p.Into.Seconds(), phaseVerb(p.Phase))
}

// phaseVerb says how the provider entered a phase.
func phaseVerb(phase string) string {
	switch phase {
	case "healthy":
		return "started"
	case "down":
		return "went down"
	case "degraded", "recovered":
		return phase
	}
	return "entered " + phase
}

// Compute derives the Summary from in.
func Compute(in Input) Summary {
	s := Summary{Fed: len(in.Fed), Dedup: in.Dedup, Interrupted: in.Interrupted}
	fed := make(map[string]bool, len(in.Fed))
	for _, id := range in.Fed {
		fed[id] = true
	}
	for _, id := range in.Fed {
		n, dl := in.Successes[id], in.DeadLettered[id] > 0
		switch {
		case n == 1 && dl:
			s.Succeeded++
			s.SucceededAndDLQ++
		case n == 1:
			s.Succeeded++
		case n > 1:
			s.Duplicates++
		case dl:
			s.DLQ++
		default:
			if in.Interrupted {
				s.Pending++
			} else {
				s.Lost++
			}
			if len(s.LostIDs) < 10 {
				s.LostIDs = append(s.LostIDs, id)
			}
		}
	}
	for id := range in.Successes {
		if !fed[id] {
			s.Unknown++
		}
	}
	for id := range in.DeadLettered {
		if !fed[id] && in.Successes[id] == 0 {
			s.Unknown++
		}
	}
	for _, e := range in.Events {
		switch {
		case e.Kind == timeline.KindCircuit && e.To == "OPEN" && e.From == "CLOSED":
			s.Trips++
			if s.TripIn == nil {
				s.TripIn = into(e.At, in.PhaseStarts)
			}
		case e.Kind == timeline.KindCircuit && e.To == "CLOSED" && e.From != "" && e.From != "CLOSED":
			s.Recoveries++
			s.RecoverIn = into(e.At, in.PhaseStarts)
		case e.Kind == timeline.KindMapping && e.To != "Enabled":
			s.Pauses++
		}
	}
	if in.CaughtUp > 0 {
		s.CaughtUp = into(in.CaughtUp, in.PhaseStarts)
	}
	return s
}

// into expresses at as a time into the latest phase started at or before it.
func into(at time.Duration, starts map[string]time.Duration) *PhaseTime {
	var best *PhaseTime
	for name, st := range starts {
		if st <= at && (best == nil || at-st < best.Into) {
			best = &PhaseTime{Phase: name, Into: at - st}
		}
	}
	return best
}

// Line is the greppable last line.
func (s Summary) Line() string {
	return fmt.Sprintf("summary: fed=%d succeeded=%d dlq=%d lost=%d duplicates=%d trips=%d recoveries=%d",
		s.Fed, s.Succeeded, s.DLQ, s.Lost, s.Duplicates, s.Trips, s.Recoveries)
}

// Write prints the summary for people, then the greppable line.
func (s Summary) Write(w io.Writer) error {
	var b strings.Builder
	title := "Summary"
	if s.Interrupted {
		title = "Summary so far (interrupted)"
	}
	fmt.Fprintf(&b, "\n%s\n", title)
	row := func(label string, v any, note string) {
		fmt.Fprintln(&b, strings.TrimRight(fmt.Sprintf("  %-28s %6v  %s", label, v, note), " "))
	}
	row("records fed", s.Fed, "")
	row("succeeded exactly once", s.Succeeded, "counted by the provider itself, per record id")
	row("in the dead-letter queue", s.DLQ, "gave up after MAX_ATTEMPTS; kept with the reason, never dropped")
	row("lost", s.Lost, lostNote(s))
	if s.Pending > 0 {
		row("pending", s.Pending, "still in the stream when the demo stopped")
	}
	row("duplicates", s.Duplicates, "records the provider charged more than once")
	if s.SucceededAndDLQ > 0 {
		row("charged and dead-lettered", s.SucceededAndDLQ, "a success the ventilator did not see")
	}
	if s.Unknown > 0 {
		row("unknown ids", s.Unknown, "charged or dead-lettered but never fed")
	}
	row("circuit trips", s.Trips, "time to trip: "+s.TripIn.String())
	row("recoveries", s.Recoveries, "time to recover: "+s.RecoverIn.String())
	row("mapping paused", s.Pauses, "times the ventilator disabled its event source")
	if s.CaughtUp != nil {
		row("backlog worked off", "", s.CaughtUp.String())
	}
	if len(s.Dedup) > 0 {
		keys := make([]string, 0, len(s.Dedup))
		for k := range s.Dedup {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, s.Dedup[k])
		}
		row("dedup table", "", strings.Join(parts, " "))
	}
	b.WriteString(s.Line() + "\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("summary: write: %w", err)
	}
	return nil
}

func lostNote(s Summary) string {
	if len(s.LostIDs) == 0 || s.Lost == 0 {
		return "neither charged nor dead-lettered"
	}
	return "e.g. " + strings.Join(s.LostIDs, ", ")
}
