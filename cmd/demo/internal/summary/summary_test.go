package summary

import (
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

func input() Input {
	return Input{
		Fed:          []string{"a", "b", "c", "d", "e", "f"},
		Successes:    map[string]int{"a": 1, "b": 1, "c": 2, "f": 1, "zzz": 1},
		DeadLettered: map[string]int{"d": 1, "f": 1},
		Events: []timeline.Event{
			{Kind: timeline.KindCircuit, To: "CLOSED", At: time.Second},
			{Kind: timeline.KindCircuit, From: "CLOSED", To: "OPEN", At: 22 * time.Second},
			{Kind: timeline.KindMapping, From: "Enabled", To: "Disabled", At: 22 * time.Second},
			{Kind: timeline.KindCircuit, From: "OPEN", To: "HALF_OPEN", At: 26 * time.Second},
			{Kind: timeline.KindCircuit, From: "OPEN", Via: "HALF_OPEN", To: "OPEN", At: 27 * time.Second},
			{Kind: timeline.KindCircuit, From: "HALF_OPEN", To: "CLOSED", At: 33 * time.Second},
			{Kind: timeline.KindMapping, From: "Disabled", To: "Enabled", At: 33 * time.Second},
		},
		PhaseStarts: map[string]time.Duration{"healthy": 0, "degraded": 10 * time.Second, "down": 20 * time.Second, "recovered": 30 * time.Second},
		CaughtUp:    40 * time.Second,
	}
}

func TestCompute(t *testing.T) {
	s := Compute(input())
	if s.Fed != 6 || s.Succeeded != 3 || s.Duplicates != 1 || s.DLQ != 1 || s.Lost != 1 || s.Pending != 0 {
		t.Errorf("counts %+v", s)
	}
	if s.SucceededAndDLQ != 1 || s.Unknown != 1 {
		t.Errorf("succeeded-and-dlq %d, unknown %d, want 1 and 1", s.SucceededAndDLQ, s.Unknown)
	}
	if len(s.LostIDs) != 1 || s.LostIDs[0] != "e" {
		t.Errorf("lost ids %v, want [e]", s.LostIDs)
	}
	if s.Trips != 1 || s.Recoveries != 1 || s.Pauses != 1 {
		t.Errorf("trips %d, recoveries %d, pauses %d, want 1, 1, 1", s.Trips, s.Recoveries, s.Pauses)
	}
	if s.TripIn == nil || s.TripIn.Phase != "down" || s.TripIn.Into != 2*time.Second {
		t.Errorf("trip at %v, want 2s into down", s.TripIn)
	}
	if s.RecoverIn == nil || s.RecoverIn.Phase != "recovered" || s.RecoverIn.Into != 3*time.Second {
		t.Errorf("recovery at %v, want 3s into recovered", s.RecoverIn)
	}
	if want := "summary: fed=6 succeeded=3 dlq=1 lost=1 duplicates=1 trips=1 recoveries=1"; s.Line() != want {
		t.Errorf("line %q, want %q", s.Line(), want)
	}
}

func TestInterruptedCountsPendingNotLost(t *testing.T) {
	in := input()
	in.Interrupted = true
	s := Compute(in)
	if s.Lost != 0 || s.Pending != 1 {
		t.Errorf("lost %d, pending %d, want 0 and 1", s.Lost, s.Pending)
	}
}

func TestWriteEndsWithTheLine(t *testing.T) {
	s := Compute(input())
	var b strings.Builder
	if err := s.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimRight(b.String(), "\n")
	lines := strings.Split(out, "\n")
	if last := lines[len(lines)-1]; last != s.Line() {
		t.Errorf("last line %q, want %q", last, s.Line())
	}
	for _, want := range []string{"2.0s after the provider went down", "3.0s after the provider recovered", "10.0s after the provider recovered", "e.g. e"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary does not say %q:\n%s", want, out)
		}
	}
}
