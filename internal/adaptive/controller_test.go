package adaptive

import (
	"strings"
	"testing"
	"time"
)

var policies = []string{PolicyKnee, PolicyStep, PolicyAIMD, PolicyGradient}

func TestMinSamplesAccumulate(t *testing.T) {
	for _, p := range policies {
		t.Run(p, func(t *testing.T) {
			ctl := newController(t, p, func(c *Config) { c.MinSamples = 5 })
			s := at(ctl, 2)
			s, d := ctl.Next(s, sample(2, 0, 0, 100*ms), t0)
			if d.Concurrency != 2 || s.Pending.Calls != 2 || !strings.Contains(d.Reason, "2 of 5") {
				t.Fatalf("first batch: size %d pending %d (%s); want a hold with 2 pending", d.Concurrency, s.Pending.Calls, d.Reason)
			}
			s, d = ctl.Next(s, sample(2, 0, 0, 100*ms), t0)
			if d.Concurrency != 2 || s.Pending.Calls != 4 {
				t.Fatalf("second batch: size %d pending %d; want a hold with 4 pending", d.Concurrency, s.Pending.Calls)
			}
			before := s
			s, d = ctl.Next(s, sample(2, 0, 0, 100*ms), t0)
			grew := d.Concurrency == 3
			if p == PolicyKnee {
				grew = d.Concurrency == 4 // no knee known yet: slow start doubles
			}
			if p == PolicyGradient {
				grew = s.Limit > before.Limit // gradient grows by a fraction of sqrt(limit)
			}
			if !grew || s.Pending != (Batch{}) {
				t.Fatalf("third batch: size %d pending %+v; want +1 on the 6 calls and an empty accumulator (%s)",
					d.Concurrency, s.Pending, d.Reason)
			}
		})
	}
}

func TestMinSamplesDecideOnTheWholeAccumulation(t *testing.T) {
	ctl := newController(t, PolicyStep, func(c *Config) { c.MinSamples = 4 })
	s := at(ctl, 5)
	s, _ = ctl.Next(s, sample(2, 0, 2, 100*ms), t0) // 2 slow, pending
	_, d := ctl.Next(s, sample(2, 0, 1, 100*ms), t0)
	if d.Concurrency != 4 {
		t.Errorf("3 of 4 accumulated calls slow: size %d, want 4 (%s)", d.Concurrency, d.Reason)
	}
}

func TestAllFailedBatchSkipsTheMinimumSample(t *testing.T) {
	ctl := newController(t, PolicyAIMD, func(c *Config) { c.MinSamples = 50 })
	_, d := ctl.Next(at(ctl, 8), sample(8, 8, 0, 0), t0)
	if d.Concurrency != 1 || d.Trip {
		t.Errorf("all failed with a large MIN_SAMPLES: size %d trip %v, want 1 without trip (%s)", d.Concurrency, d.Trip, d.Reason)
	}
}

// Refusals at the floor trip a ventilator that runs alone, but only hold one that runs beside
// others (several shards, an SQS mapping), whose older pools may be what fills the provider;
// failures that are not refusals trip either.
func TestRefusalsAtTheFloorBesideOthersHold(t *testing.T) {
	for _, p := range append([]string{PolicyPace}, policies...) {
		t.Run(p, func(t *testing.T) {
			ctl := newController(t, p, func(c *Config) { c.MinConcurrency, c.TripAfter = 2, 1 })
			refused := func(pollers int) Batch {
				b := sample(2, 2, 0, 0)
				b.Refused, b.Pollers, b.FailedKeys = 2, pollers, 2
				return b
			}
			s := at(ctl, 2)
			for i := range 10 {
				var d Decision
				if s, d = ctl.Next(s, refused(2), t0.Add(time.Duration(i)*time.Second)); d.Trip {
					t.Fatalf("round %d of refusals at the floor beside another ventilator tripped (%s)", i+1, d.Reason)
				}
			}
			alone := at(ctl, 2)
			for i := range 10 {
				var d Decision
				if alone, d = ctl.Next(alone, refused(1), t0.Add(time.Duration(i)*time.Second)); d.Trip {
					break
				}
				if i == 9 {
					t.Fatalf("10 rounds of refusals at the floor alone did not trip (%s)", d.Reason)
				}
			}
			failed := sample(2, 2, 0, 0)
			failed.Pollers, failed.FailedKeys = 2, 2
			down := at(ctl, 2)
			for i := range 10 {
				var d Decision
				if down, d = ctl.Next(down, failed, t0.Add(time.Duration(i)*time.Second)); d.Trip {
					break
				}
				if i == 9 {
					t.Fatalf("10 rounds of failures at the floor beside another ventilator did not trip (%s)", d.Reason)
				}
			}
		})
	}
}

func TestTripOnlyAtTheFloor(t *testing.T) {
	for _, p := range policies {
		t.Run(p, func(t *testing.T) {
			ctl := newController(t, p, func(c *Config) { c.MinSamples = 10 })
			// Above the floor, even a batch in which everything failed does not trip.
			if _, d := ctl.Next(at(ctl, 2), sample(2, 2, 0, 0), t0); d.Trip {
				t.Errorf("tripped at batch size 2 (%s)", d.Reason)
			}
			// At the floor, the only call failing trips at once, whatever MIN_SAMPLES says.
			s, d := ctl.Next(at(ctl, 1), sample(1, 1, 0, 0), t0.Add(time.Second))
			if !d.Trip || !s.Tripped || d.Concurrency != 1 || s.UpdatedAt != t0.Add(time.Second).UnixMilli() {
				t.Fatalf("failed at the floor: trip %v state %+v (%s); want a trip", d.Trip, s, d.Reason)
			}
			// Its own trip arms its own wake, WAKE_AFTER on: no circuit event is waited for.
			if want := t0.Add(time.Second + DefaultConfig().WakeAfter).UnixMilli(); s.WakeAt != want {
				t.Errorf("self-trip WakeAt = %d, want %d (trip + WAKE_AFTER)", s.WakeAt, want)
			}
			// A slow but successful call at the floor does not trip.
			if _, d := ctl.Next(at(ctl, 1), sample(1, 0, 1, 2*time.Second), t0); d.Trip {
				t.Errorf("tripped on a slow success (%s)", d.Reason)
			}
			// Once tripped, batches (in flight when the mapping was disabled) keep it tripped.
			s2, d := ctl.Next(s, sample(1, 0, 0, 100*ms), t0)
			if !d.Trip || !s2.Tripped {
				t.Errorf("a tripped state un-tripped without Resume (%s)", d.Reason)
			}
			// The wake-up resumes at the floor, and a failing wake-up batch trips again.
			s3, d := ctl.Resume(s2, t0.Add(10*time.Minute))
			if s3.Tripped || d.Trip || d.Concurrency != 1 || s3.FloorFailures != 0 || s3.WakeAt != 0 {
				t.Fatalf("Resume() = %+v, %+v; want untripped at 1, no wake armed", s3, d)
			}
			if _, d := ctl.Next(s3, sample(1, 1, 0, 0), t0); !d.Trip {
				t.Errorf("failing wake-up batch did not trip again (%s)", d.Reason)
			}
			if _, d := ctl.Next(s3, sample(1, 0, 0, 100*ms), t0); d.Trip || d.Concurrency != 1 {
				t.Errorf("healthy wake-up batch: %+v, want a hold at 1 while accumulating", d)
			}
		})
	}
}

func TestTripAtAMinimumAboveOne(t *testing.T) {
	ctl := newController(t, PolicyAIMD, func(c *Config) { c.MinConcurrency = 3 })
	if _, d := ctl.Next(at(ctl, 3), sample(3, 2, 0, 100*ms), t0); d.Trip {
		t.Errorf("2 of 3 failing at the floor tripped: failures among successes are the records' (%s)", d.Reason)
	}
	if _, d := ctl.Next(at(ctl, 3), sample(3, 3, 0, 100*ms), t0); !d.Trip || d.Concurrency != 3 {
		t.Errorf("3 of 3 failing at the floor: %+v, want a trip at 3", d)
	}
}

func TestTripAfterConsecutiveFailures(t *testing.T) {
	ctl := newController(t, PolicyAIMD, func(c *Config) { c.TripAfter = 2 })
	s, d := ctl.Next(at(ctl, 1), sample(1, 1, 0, 0), t0)
	if d.Trip || s.FloorFailures != 1 {
		t.Fatalf("first failure: trip %v failures %d; want 1 failure, no trip", d.Trip, s.FloorFailures)
	}
	ok, _ := ctl.Next(s, sample(1, 0, 0, 100*ms), t0)
	if ok.FloorFailures != 0 {
		t.Errorf("a success did not reset the count: %d", ok.FloorFailures)
	}
	if _, d := ctl.Next(s, sample(1, 1, 0, 0), t0); !d.Trip {
		t.Errorf("second failure in a row did not trip (%s)", d.Reason)
	}
}

func TestResumeIgnoresAStateThatIsNotTripped(t *testing.T) {
	ctl := newController(t, PolicyAIMD, nil)
	s, d := ctl.Resume(at(ctl, 7), t0)
	if s.Concurrency != 7 || d.Concurrency != 7 || d.Trip {
		t.Errorf("Resume() of a running state = %+v, %+v; want it unchanged", s, d)
	}
}

func TestZeroStateStartsAtInitial(t *testing.T) {
	ctl := newController(t, PolicyAIMD, func(c *Config) { c.InitialConcurrency = 4 })
	s, d := ctl.Next(State{}, sample(4, 0, 0, 100*ms), t0)
	if d.Concurrency != 5 || s.Policy != PolicyAIMD {
		t.Errorf("Next(zero state) = %+v, want 5 from INITIAL_BATCH 4", d)
	}
}

func TestEmptyBatchHolds(t *testing.T) {
	ctl := newController(t, PolicyAIMD, nil)
	s, d := ctl.Next(at(ctl, 6), Batch{}, t0)
	if d.Concurrency != 6 || d.Trip || s.Pending != (Batch{}) {
		t.Errorf("Next(empty) = %+v, want a hold at 6", d)
	}
}

func TestAdoptClampsAndSwitchesPolicy(t *testing.T) {
	ctl := newController(t, PolicyStep, func(c *Config) { c.MaxConcurrency = 10 })
	foreign := State{Policy: PolicyGradient, BatchSize: 50, Limit: 50.7, Baseline: 3 * ms, Samples: 9}
	s, d := ctl.Next(foreign, sample(10, 0, 0, 100*ms), t0)
	if s.Policy != PolicyStep || d.Concurrency != 10 || s.Limit != 0 || s.Baseline != 0 || s.Samples != 0 {
		t.Errorf("adopting a gradient state at 50 with MAX_BATCH 10: %+v, %+v", s, d)
	}
}
