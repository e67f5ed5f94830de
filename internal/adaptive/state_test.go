package adaptive

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestStateRoundTripsThroughJSON replays random batches through every policy and checks that each
// state it writes decodes to exactly itself.
func TestStateRoundTripsThroughJSON(t *testing.T) {
	for _, s := range replayedStates(t) {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%+v) error = %v", s, err)
		}
		var back State
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("Unmarshal(%s) error = %v", data, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed the state:\n got %+v\nwant %+v\njson %s", back, s, data)
		}
	}
}

func TestStateJSONNames(t *testing.T) {
	s := State{Policy: PolicyGradient, Concurrency: 3, BatchSize: 12, Limit: 3.5, Baseline: time.Second, Recent: 2 * time.Second,
		Samples: 4, Probe: true, FloorFailures: 1, Tripped: true, UpdatedAt: 1700000000123,
		Pending: Batch{Batches: 1, Calls: 2, Errors: 1, Slow: 1, OKLatency: 5, MaxLatency: 5}}
	data, _ := json.Marshal(s)
	want := `{"policy":"gradient","concurrency":3,"batchSize":12,"limit":3.5,"baselineNs":1000000000,"recentNs":2000000000,` +
		`"samples":4,"probe":true,"floorFailures":1,"tripped":true,"updatedAt":1700000000123,` +
		`"pending":{"batches":1,"calls":2,"errors":1,"slow":1,"okLatencyNs":5,"maxLatencyNs":5}}`
	if string(data) != want {
		t.Errorf("json = %s\nwant   %s", data, want)
	}
}

// replayedStates returns the states every policy writes over a few hundred random batches.
func replayedStates(t testing.TB) []State {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []State
	for _, p := range policies {
		ctl := newController(t, p, func(c *Config) { c.MinSamples = 3; c.GradientWindow = 7 })
		s := ctl.Initial(t0)
		now := t0
		for range 300 {
			now = now.Add(time.Duration(rng.IntN(2000)) * ms)
			if s.Tripped {
				s, _ = ctl.Resume(s, now)
				out = append(out, s)
				continue
			}
			n := 1 + rng.IntN(s.Concurrency)
			results := make([]Result, n)
			for i := range results {
				results[i] = Result{OK: rng.Float64() > 0.2, Latency: time.Duration(rng.ExpFloat64() * 3e8)}
			}
			s, _ = ctl.Next(s, Summarize(results, time.Second), now)
			out = append(out, s)
		}
	}
	return out
}
