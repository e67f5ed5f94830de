package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// TestSweepRowsKeepsTheRowsOfTheProvidersAsked checks that SweepRows returns, in provider and
// seed order, the rows of the runs its keep accepts, the ones its summaries were made from, and
// that its summaries are Sweep's.
func TestSweepRowsKeepsTheRowsOfTheProvidersAsked(t *testing.T) {
	slow := 30 * time.Second
	providers := []Provider{{Base: slow, Discipline: Shared}, {Base: slow, Discipline: Limited}}
	seeds := []uint64{3, 1, 2}
	per, all, err := Sweep(adaptive.PolicyPace, providers, seeds, SimConfig)
	if err != nil {
		t.Fatal(err)
	}
	per2, all2, runs, err := SweepRows(adaptive.PolicyPace, providers, seeds, SimConfig,
		func(p Provider) bool { return p.Discipline == Limited })
	if err != nil {
		t.Fatal(err)
	}
	if all.Line() != all2.Line() || per[0].Line() != per2[0].Line() || per[1].Line() != per2[1].Line() {
		t.Errorf("SweepRows summarised differently from Sweep:\n%s\n%s", all.Line(), all2.Line())
	}
	if len(runs) != len(seeds) {
		t.Fatalf("got %d runs, want one per seed of the limited provider", len(runs))
	}
	worst := NewSummary(adaptive.PolicyPace)
	for i, run := range runs {
		if run.Provider != providers[1] || run.Seed != seeds[i] {
			t.Errorf("run %d is %s seed %d, want %s seed %d", i, run.Provider, run.Seed, providers[1], seeds[i])
		}
		if len(run.Rows) != 4 {
			t.Errorf("run %d has %d rows, want one per phase", i, len(run.Rows))
		}
		worst.Add(run.Rows, Outcome{})
	}
	if worst.GoodputMin != per2[1].GoodputMin || worst.ConcurrencyMax != per2[1].ConcurrencyMax {
		t.Errorf("the rows' worst goodput and concurrency %.1f, %.2f are not the summary's %.1f, %.2f",
			worst.GoodputMin, worst.ConcurrencyMax, per2[1].GoodputMin, per2[1].ConcurrencyMax)
	}
	if _, _, none, _ := SweepRows(adaptive.PolicyPace, providers[:1], seeds[:1], SimConfig, nil); none != nil {
		t.Errorf("a nil keep kept %d runs", len(none))
	}

	var out bytes.Buffer
	if err := WriteSeedRows(&out, runs, []string{"outage"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+len(seeds) {
		t.Fatalf("want a header and one outage row per seed:\n%s", out.String())
	}
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		if f[0] != []string{"3", "1", "2"}[i] || f[1] != "30s" || f[2] != "limited" || f[3] != "outage" {
			t.Errorf("row %d: %q", i+1, l)
		}
	}
}
