package fleetsim

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// small is a fleet small enough for `make test`: every shape, a few runs per rate.
func small(runs int, rates ...float64) Config {
	cfg := DefaultConfig()
	cfg.Runs = runs
	cfg.Rates = rates
	cfg.Kinds = []Kind{Failures}
	return cfg
}

func rowOf(t *testing.T, res *Results, shape string, rate float64) Row {
	t.Helper()
	for _, r := range res.Rows {
		if r.Shape == shape && r.Rate == rate {
			return r
		}
	}
	t.Fatalf("no row for %s at %v", shape, rate)
	return Row{}
}

// TestBreakerAgreesWithTheReferenceAtTheExtremes: on every shape, at 0 % neither the reference nor
// breakerbox trips and breakerbox writes nothing; at 100 % both trip in every run, breakerbox within
// the allowance of the reference's trip.
func TestBreakerAgreesWithTheReferenceAtTheExtremes(t *testing.T) {
	cfg := small(3, 0, 1)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Shapes {
		healthy, failing := rowOf(t, res, s.Name, 0), rowOf(t, res, s.Name, 1)
		if healthy.Sys[iRef].Trips != 0 || healthy.Sys[iBox].Trips != 0 {
			t.Errorf("%s at 0%%: reference tripped %d, breakerbox %d of %d runs; want none", s.Name, healthy.Sys[iRef].Trips, healthy.Sys[iBox].Trips, cfg.Runs)
		}
		if healthy.HealthyWrites != 0 || healthy.Sys[iBox].WritesPerSec != 0 {
			t.Errorf("%s at 0%%: breakerbox wrote %d times; healthy traffic must cost no write", s.Name, healthy.HealthyWrites)
		}
		if failing.Sys[iRef].Trips != cfg.Runs || failing.Sys[iBox].Trips != cfg.Runs {
			t.Errorf("%s at 100%%: reference tripped %d, breakerbox %d of %d runs; want every run", s.Name, failing.Sys[iRef].Trips, failing.Sys[iBox].Trips, cfg.Runs)
		}
		if failing.MissedTrips != 0 {
			t.Errorf("%s at 100%%: %d missed trips", s.Name, failing.MissedTrips)
		}
		// (Sparse traffic is one call every 2 minutes: each finds the open time over and goes out
		// as the half-open probe, so there is nothing to stop.)
		if !s.ByReport && failing.Sys[iBox].Sent >= failing.Sys[iBox].Offered {
			t.Errorf("%s at 100%%: breakerbox sent %.0f of %.0f calls; a trip must stop some", s.Name, failing.Sys[iBox].Sent, failing.Sys[iBox].Offered)
		}
	}
	if res.HealthyWrites != 0 || res.Runs != len(cfg.Shapes)*2*cfg.Runs {
		t.Errorf("totals: runs %d healthy writes %d", res.Runs, res.HealthyWrites)
	}
}

// TestSameDrawsAtEveryRate: the calls of a run are the same at every rate (common random numbers), a
// call that fails at 25 % fails at 45 % too, and no call fails before the incident starts.
func TestSameDrawsAtEveryRate(t *testing.T) {
	s, err := ShapeByName(Shapes(time.Minute), "bursty")
	if err != nil {
		t.Fatal(err)
	}
	start := epoch.Add(1234 * time.Millisecond)
	low, high := layout(s, 42, start, Failures, 0.25), layout(s, 42, start, Failures, 0.45)
	if len(low.calls) != len(high.calls) || len(low.calls) < 100 {
		t.Fatalf("%d calls at 25%%, %d at 45%%: want the same calls (and many)", len(low.calls), len(high.calls))
	}
	var fails25, fails45 int
	for i := range low.calls {
		a, b := low.calls[i], high.calls[i]
		if a.at != b.at || a.env != b.env || a.latency != b.latency {
			t.Fatalf("call %d differs between rates: %+v vs %+v", i, a, b)
		}
		if a.fail && !b.fail {
			t.Fatalf("call %d fails at 25%% but not at 45%%", i)
		}
		if (a.fail || b.fail) && !a.incident {
			t.Fatalf("call %d at %v fails before the incident starts", i, a.at.Sub(start))
		}
		fails25 += btoi(a.fail)
		fails45 += btoi(b.fail)
	}
	if fails25 == 0 || fails45 <= fails25 {
		t.Fatalf("%d failures at 25%%, %d at 45%%", fails25, fails45)
	}
	slow := layout(s, 42, start, Slow, 0.45)
	for i, c := range slow.calls {
		if c.fail || (c.slow && c.latency <= time.Second) {
			t.Fatalf("slow incident, call %d: %+v; want slow calls above the 1s threshold and no failures", i, c)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEverySystemIsOfferedTheSameCalls: in one run, every system is asked about the same calls; a
// system that denies none sends them all.
func TestEverySystemIsOfferedTheSameCalls(t *testing.T) {
	cfg := DefaultConfig()
	s, _ := ShapeByName(cfg.Shapes, "dense")
	ps, err := runOne(context.Background(), cfg, Combo{Shape: s, Kind: Failures, Rate: 0}, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if p.offered != ps[0].offered || p.offered == 0 || p.sent != p.offered {
			t.Errorf("%s: offered %d, sent %d; reference offered %d", Systems[i], p.offered, p.sent, ps[0].offered)
		}
	}
}

// TestPeersCostWhatTheirDesignsSay: at 0 %, circuitbreaker-lambda reads and writes once per call and
// Powertools writes nothing; at 100 % both open the circuit.
func TestPeersCostWhatTheirDesignsSay(t *testing.T) {
	cfg := DefaultConfig()
	s, _ := ShapeByName(cfg.Shapes, "dense")
	healthy, err := runOne(context.Background(), cfg, Combo{Shape: s, Kind: Failures, Rate: 0}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	pt, cbl := healthy[2], healthy[3]
	span := int64(s.Span.Seconds())
	if cbl.writes < int64(cbl.sent) || cbl.reads < int64(cbl.offered) {
		t.Errorf("cb-lambda at 0%%: %d reads, %d writes for %d calls; want one of each per call", cbl.reads, cbl.writes, cbl.sent)
	}
	if pt.allWrites != 0 || pt.reads > int64(s.Envs)*(span/5+1) {
		t.Errorf("powertools at 0%%: %d writes, %d reads; want no write and a read per environment per 5s at most", pt.allWrites, pt.reads)
	}
	failing, err := runOne(context.Background(), cfg, Combo{Shape: s, Kind: Failures, Rate: 1}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 4; i++ {
		if !failing[i].tripped {
			t.Errorf("%s at 100%%: never tripped", Systems[i])
		}
	}
}

// TestSummarizeCountsFalseAndMissedTrips checks the definitions of the last line on made-up runs.
func TestSummarizeCountsFalseAndMissedTrips(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Runs = 3
	dense, _ := ShapeByName(cfg.Shapes, "dense")
	sparse, _ := ShapeByName(cfg.Shapes, "sparse")
	trip := func(at time.Duration) played { return played{tripped: true, trip: at, tripDone: at + time.Second} }
	none := played{}
	row := func(p ...played) []played { return append(p, none, none) }
	combos := []Combo{{dense, Failures, 0.25}, {dense, Failures, 0.75}, {sparse, Failures, 1}, {dense, Failures, 0},
		{dense, Failures, 1}, {dense, Failures, 0.05}, {sparse, Failures, 0.25}}
	bad := func(p played, first time.Duration) played { p.firstBad = first; return p }
	all := [][][]played{
		{row(none, trip(10*time.Second)), row(trip(5*time.Second), trip(10*time.Second)), row(none, trip(2*time.Minute))},
		{row(trip(5*time.Second), trip(50*time.Second)), row(trip(5*time.Second), trip(61*time.Second)), row(trip(5*time.Second), none)},
		{row(trip(4*time.Minute), trip(4*time.Minute+time.Second)), row(trip(4*time.Minute), trip(4*time.Minute+2*time.Second)), row(none, none)},
		{row(none, played{allWrites: 2}), row(none, none), row(none, none)},
		{row(none, bad(trip(3*time.Second), time.Second)), row(none, bad(trip(5*time.Second), time.Second)), row(none, bad(trip(9*time.Second), 3*time.Second))},
		{row(none, played{sent: 100, writes: 3, perInterval: 2}), row(none, played{sent: 50, writes: 3}), row(none, played{sent: 150, writes: 6})},
		{row(trip(time.Minute), trip(time.Minute)), row(none, trip(time.Minute)), row(none, none)},
	}
	res := summarize(cfg, combos, all)
	got := []int{res.Rows[0].FalseTrips, res.Rows[1].MissedTrips, res.Rows[2].MissedTrips, res.Rows[6].FalseTrips}
	// 25 %: any trip within the window is false, whatever the reference did; one after it is not.
	// 75 %: a trip within the window is in time, one after it or none is missed.
	// sparse: judged against the reference: by the end of its tripping invocation (1 s after) is in
	// time, 2 s is not; a trip at 25 % is false only where the reference's run rule did not trip too.
	if want := []int{2, 2, 1, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("false, missed, missed (sparse), false (sparse) = %v, want %v", got, want)
	}
	if res.HealthyWrites != 2 || res.Runs != 21 || res.FalseTrips != 3 || res.MissedTrips != 3 {
		t.Fatalf("totals %+v", res)
	}
	// Times to trip from the first failing call: 2 s, 4 s and 6 s; writes per call sent 12 / 300.
	if res.Trip100Max != 4*time.Second || res.WritesPerCall5 != 0.04 || res.Slow100Max != 0 {
		t.Fatalf("trip-100-max %s, writes-per-call-5pct %v, slow-100-max %s", res.Trip100Max, res.WritesPerCall5, res.Slow100Max)
	}
	var b strings.Builder
	if err := WriteTable(&b, cfg, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if last, want := lines[len(lines)-1], "fleet: runs=21 false-trips=3 missed-trips=3 healthy-writes=2 trip-100-max=4.0s slow-100-max=0.0s writes-per-call-5pct=0.040 writes-per-env-interval-max=2"; last != want {
		t.Fatalf("last line %q, want %q", last, want)
	}
	b.Reset()
	if err := WriteMarkdown(&b, res); err != nil {
		t.Fatal(err)
	}
	md := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(md) != 2+len(combos) || !strings.HasPrefix(md[2], "| dense | failures | 25 % | 0.33 / 0.67 / 0.00 / 0.00 |") {
		t.Fatalf("markdown table:\n%s", b.String())
	}
}

// TestRunIsDeterministic: the same seed gives the same results, however the runs are scheduled.
func TestRunIsDeterministic(t *testing.T) {
	cfg := small(2, 0.55)
	cfg.Shapes = cfg.Shapes[:1]
	cfg.Workers = 1
	a, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 3
	b, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs with seed %d differ:\n%+v\n%+v", cfg.Seed, a, b)
	}
}

// TestBadConfigIsRefused: a config that cannot be simulated is an error saying what is wrong.
func TestBadConfigIsRefused(t *testing.T) {
	cfg := small(0, 1.5)
	cfg.Shapes[0].Envs = 501
	_, err := Run(context.Background(), cfg)
	for _, want := range []string{"runs 0", "rate 1.5", "501 environments"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
	if _, err := ShapeByName(cfg.Shapes, "steady"); err == nil || !strings.Contains(err.Error(), "dense") {
		t.Errorf("unknown shape: err = %v, want the list of shapes", err)
	}
}

// TestOneCounterWritePerEnvironmentPerInterval: in an incident, on every shape, for failures and slow
// calls, no environment writes a circuit's counts twice within one flush interval (issue 18: the
// report path and the background flusher share one budget; a thaw's held calls go out with the
// invocation's first report, not in a write of their own).
func TestOneCounterWritePerEnvironmentPerInterval(t *testing.T) {
	cfg := small(2, 0.25, 0.75)
	cfg.Kinds = []Kind{Failures, Slow}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		if r.PerInterval > 1 {
			t.Errorf("%s %s at %.0f%%: an environment made %d counter writes within one flush interval, want at most 1", r.Shape, r.Kind, r.Rate*100, r.PerInterval)
		}
	}
	if res.PerIntervalMax != 1 {
		t.Errorf("the most counter writes per environment and interval: %d, want 1 (incidents write)", res.PerIntervalMax)
	}
}
