package sim

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

const base = 200 * time.Millisecond

// play runs the default scenario for the 200 ms provider under d with the named policies, after
// change, and returns the outcomes and the rows by policy and phase.
func play(t *testing.T, d Discipline, change func(*Scenario, *adaptive.Config), names ...string) ([]Outcome, map[string]map[string]Row) {
	t.Helper()
	sc := DefaultScenario(base, d)
	cfg := SimConfig(base)
	if change != nil {
		change(&sc, &cfg)
	}
	ps, err := NewPolicies(cfg, names...)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Run(sc, ps)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]map[string]Row{}
	for _, r := range Rows(sc, outs) {
		if rows[r.Policy] == nil {
			rows[r.Policy] = map[string]Row{}
		}
		rows[r.Policy][r.Phase] = r
	}
	return outs, rows
}

func TestNothingLostNorDuplicated(t *testing.T) {
	for _, d := range Disciplines {
		outs, rows := play(t, d, nil, adaptive.PolicyKnee, adaptive.PolicyStep)
		for _, o := range outs {
			if o.Lost != 0 {
				t.Errorf("%s, %s: %d records lost", d, o.Policy, o.Lost)
			}
			if o.PoisonDLQ == 0 {
				t.Errorf("%s, %s: no poison record reached the dead-letter queue", d, o.Policy)
			}
			for phase, r := range rows[o.Policy] {
				if r.Duplicates != 0 {
					t.Errorf("%s, %s, %s: %d duplicates", d, o.Policy, phase, r.Duplicates)
				}
			}
		}
	}
}

func TestDedupIsWhatPreventsDuplicates(t *testing.T) {
	_, rows := play(t, Shared, func(sc *Scenario, _ *adaptive.Config) { sc.NoDedup = true }, adaptive.PolicyKnee)
	if rows["knee"]["healthy"].Duplicates == 0 {
		t.Error("without dedup, redelivered records did not succeed twice: the test cannot see dedup work")
	}
}

// TestSQSStaysWithinMaxConcurrency plays an SQS mapping, whose invocations Lambda scales up to the
// MaximumConcurrency the ventilator sets: the invocations together never have more calls in flight
// than MAX_CONCURRENCY, however many run, and never more invocations than that setting allows.
func TestSQSStaysWithinMaxConcurrency(t *testing.T) {
	const most = 6
	for _, d := range Disciplines {
		outs, _ := play(t, d, func(sc *Scenario, c *adaptive.Config) {
			sc.Source = SQS
			c.MinConcurrency, c.MaxConcurrency = 2, most
		}, adaptive.PolicyPace, adaptive.PolicyKnee, adaptive.PolicyStep)
		invocations, _ := adaptive.SQSScaling(most, most)
		for _, o := range outs {
			if o.MaxInFlight > most {
				t.Errorf("%s, %s: %d calls in flight at once; MAX_CONCURRENCY is %d", d, o.Policy, o.MaxInFlight, most)
			}
			if o.MaxRunning > invocations {
				t.Errorf("%s, %s: %d invocations at once; MaximumConcurrency is at most %d", d, o.Policy, o.MaxRunning, invocations)
			}
			if o.MaxRunning < 2 {
				t.Errorf("%s, %s: at most %d invocation at once: SQS was not played", d, o.Policy, o.MaxRunning)
			}
		}
	}
}

func TestConcurrencyNeverExceedsMaxConcurrency(t *testing.T) {
	// A contract of 6 calls in flight, below the provider's capacity of 8, shared by 3 ventilators.
	for _, d := range Disciplines {
		outs, _ := play(t, d, func(sc *Scenario, c *adaptive.Config) {
			sc.Pollers = 3
			c.MinConcurrency, c.MaxConcurrency = 3, 6
		}, adaptive.PolicyKnee, adaptive.PolicyStep, adaptive.PolicyAIMD, adaptive.PolicyGradient)
		for _, o := range outs {
			if o.MaxInFlight > 6 || o.MaxConcurrency > 6 {
				t.Errorf("%s, %s: %d calls in flight at once, concurrency up to %d; MAX_CONCURRENCY is 6",
					d, o.Policy, o.MaxInFlight, o.MaxConcurrency)
			}
			if o.MaxInFlight < 3 {
				t.Errorf("%s, %s: at most %d calls in flight: the bound holds trivially", d, o.Policy, o.MaxInFlight)
			}
		}
	}
}

func TestKneeHoldsNearTheCapacityWhereStepOvershoots(t *testing.T) {
	for _, d := range []Discipline{Shared, FIFO} {
		_, rows := play(t, d, nil, adaptive.PolicyKnee, adaptive.PolicyStep)
		for _, phase := range []string{"healthy", "degraded", "recovered"} {
			r := rows["knee"][phase]
			if *r.GoodputPct < 90 || *r.Concurrency > 1.25 || *r.Latency > 1.3 {
				t.Errorf("%s, knee, %s: goodput %.1f %%, concurrency %.2f x C, latency %.2f x base; want >= 90, <= 1.25, <= 1.3",
					d, phase, *r.GoodputPct, *r.Concurrency, *r.Latency)
			}
		}
		if c := *rows["step"]["healthy"].Concurrency; c < 1.5 {
			t.Errorf("%s: step's healthy concurrency %.2f x C; the simulator no longer shows it overshooting", d, c)
		}
	}
}

func TestLimitedProviderRefusalsFindTheLimit(t *testing.T) {
	_, rows := play(t, Limited, nil, adaptive.PolicyKnee)
	for _, phase := range []string{"healthy", "degraded"} {
		if r := rows["knee"][phase]; *r.GoodputPct < 90 || *r.Concurrency > 1.1 {
			t.Errorf("limited, %s: goodput %.1f %%, concurrency %.2f x C; want >= 90 and about C", phase, *r.GoodputPct, *r.Concurrency)
		}
	}
}

func TestOutageStopsTheVentilatorAndTheCircuitWakesIt(t *testing.T) {
	for _, d := range Disciplines {
		_, rows := play(t, d, nil, adaptive.PolicyKnee)
		out, rec := rows["knee"]["outage"], rows["knee"]["recovered"]
		if out.TripBatches == nil || *out.TripBatches > 3 {
			t.Errorf("%s: stopped after %v batches into the outage, want at most 3", d, out.TripBatches)
		}
		// The schedule fires every 10 minutes; the circuit's event is what brings recovery within
		// two of the checker's minutes.
		if rec.RecoverAfterS == nil || *rec.RecoverAfterS > 150 {
			t.Errorf("%s: recovered after %v s, want within 150 s of the provider", d, rec.RecoverAfterS)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	s := NewSummary("knee")
	outs, _ := play(t, Shared, nil, adaptive.PolicyKnee)
	sc := DefaultScenario(base, Shared)
	s.Add(Rows(sc, outs), outs[0])
	s.AddPoison(outs[0], outs[0], measuredPhases)
	line := s.Line()
	want := "sim: policy=knee goodput-min="
	if len(line) < len(want) || line[:len(want)] != want || s.PoisonDrop != 0 || s.Runs != 1 {
		t.Errorf("Line() = %q (poison drop %v, runs %d)", line, s.PoisonDrop, s.Runs)
	}
}

func TestScenarioValidate(t *testing.T) {
	sc := DefaultScenario(base, Shared)
	sc.Pollers = 0
	sc.Phases[1].Capacity = 0
	if _, err := Run(sc, nil); err == nil {
		t.Error("Run accepted a scenario without pollers and with an up phase of capacity 0")
	}
}

func TestPoisonRecordsGoToTheDLQWithoutSlowingTheRest(t *testing.T) {
	with, _ := play(t, Shared, nil, adaptive.PolicyKnee)
	without, _ := play(t, Shared, func(sc *Scenario, _ *adaptive.Config) { sc.PoisonEvery = 0 }, adaptive.PolicyKnee)
	s := NewSummary(adaptive.PolicyKnee)
	s.AddPoison(with[0], without[0], measuredPhases)
	if s.PoisonDrop > 5 {
		t.Errorf("one poison record per 1000 cost %.1f %% of the goodput, want at most 5", s.PoisonDrop)
	}
	if with[0].PoisonDLQ == 0 || without[0].PoisonDLQ != 0 {
		t.Errorf("poison records in the DLQ: %d with, %d without", with[0].PoisonDLQ, without[0].PoisonDLQ)
	}
	for i, ph := range []string{"healthy", "degraded"} {
		if a, b := with[0].Phases[i].TripAfter, without[0].Phases[i].TripAfter; a >= 0 && b < 0 {
			t.Errorf("%s: the ventilator stopped with poison records (after %v) and not without", ph, a)
		}
	}
}
