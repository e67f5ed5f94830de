package sim

import (
	"math"
	"time"
)

// RecoveryWindow is the sliding window over which goodput must reach RecoveryShare of the optimum
// for a phase after an outage to count as recovered; for a provider slower than 2.5 s, four of its
// base latencies (a rate cannot be read over less than a few calls' time).
const RecoveryWindow = 10 * time.Second

// RecoveryTarget is the time within which a ventilator should be back at RecoveryShare of the
// optimum after its circuit closes: 90 s, or four base latencies of a slower provider.
func RecoveryTarget(base time.Duration) time.Duration { return max(90*time.Second, 4*base) }

// recoveryWindow is the window for a provider of base latency base.
func recoveryWindow(base time.Duration) time.Duration { return max(RecoveryWindow, 4*base) }

// RecoveryShare is the share of the optimum that counts as recovered.
const RecoveryShare = 0.9

// Row holds the figures of one policy in one phase, as written to results.json. A figure that does
// not apply to the phase is nil (null in JSON), and so is a trip or a recovery that never happened.
type Row struct {
	// Policy, Discipline and Base name the run: the policy, the provider's discipline and its
	// healthy base latency.
	Policy     string `json:"policy"`
	Discipline string `json:"discipline"`
	Base       string `json:"base"`
	// Phase is the phase's name.
	Phase string `json:"phase"`
	// FromS is where in the phase the figures start, in seconds: 0, or for a phase after an outage
	// the moment the circuit closed again.
	FromS float64 `json:"fromS"`
	// Goodput is the rate of first successes from FromS on, in records per minute.
	Goodput float64 `json:"goodput"`
	// Optimum is the phase's capacity over its base latency, in records per minute.
	Optimum float64 `json:"optimum"`
	// GoodputPct is Goodput as a percentage of Optimum (nil when the provider is down).
	GoodputPct *float64 `json:"goodputPct"`
	// Concurrency is the mean number of calls in flight from FromS on, divided by the capacity.
	Concurrency *float64 `json:"concurrency"`
	// Latency is the successful calls' mean latency from FromS on, divided by the base latency.
	Latency *float64 `json:"latency"`
	// Calls counts the calls sent in the phase.
	Calls int `json:"calls"`
	// TripBatches is how many batches an outage had sent calls in when the ventilator stopped
	// (outage phases only; nil if it never stopped).
	TripBatches *int `json:"tripBatches"`
	// RecoverAfterS is how many seconds after the circuit closed again the goodput reached
	// RecoveryShare of the optimum: the start of the first window of RecoveryWindow (or four base
	// latencies) from which the goodput averages RecoveryShare of the optimum (phases right after an
	// outage only; the time left in the phase when it never did or the circuit never closed).
	RecoverAfterS *float64 `json:"recoverAfterS"`
	// RecoverRatio is RecoverAfterS over [RecoveryTarget]: at most 1 meets the target.
	RecoverRatio *float64 `json:"recoverRatio"`
	// Duplicates counts records that succeeded more than once.
	Duplicates int `json:"duplicates"`
}

// Rows turns the outcomes of Run into one Row per policy and phase, policy by policy.
func Rows(sc Scenario, outs []Outcome) []Row {
	var rows []Row
	for _, o := range outs {
		for i, ph := range sc.Phases {
			st := o.Phases[i]
			row := Row{
				Policy: o.Policy, Discipline: sc.Discipline.String(), Base: sc.Phases[0].Latency.String(),
				Phase: ph.Name, Optimum: round(ph.Optimum(), 1), Calls: st.Calls, Duplicates: st.Duplicates,
			}
			afterOutage := i > 0 && sc.Phases[i-1].Down() && !ph.Down()
			from := 0
			if afterOutage {
				if st.ClosedAt >= 0 {
					from = int(st.ClosedAt / time.Second)
				}
				// Never closed: the whole phase counts, and it never recovered.
				row.FromS = float64(from)
				s, ok := recoveredAfter(st.Successes, from, ph.Optimum(), recoveryWindow(ph.Latency))
				if !ok || st.ClosedAt < 0 {
					s = ph.Duration.Seconds() - float64(from)
				}
				row.RecoverAfterS = ptr(s)
				row.RecoverRatio = ptr(round(s/RecoveryTarget(ph.Latency).Seconds(), 2))
			}
			if ph.Down() {
				if st.TripAfter >= 0 {
					row.TripBatches = ptr(st.TripBatches)
				}
			} else {
				succ, area, lat, n := 0, 0.0, time.Duration(0), 0
				for s := from; s < len(st.Successes); s++ {
					succ += st.Successes[s]
					area += st.InFlight[s]
					lat += st.OKLatency[s]
					n += st.OKCalls[s]
				}
				span := ph.Duration.Seconds() - float64(from)
				pct := 0.0
				if span > 0 {
					row.Goodput = round(float64(succ)/span*60, 1)
					row.Concurrency = ptr(round(area/span/float64(ph.Capacity), 3))
					pct = 100 * float64(succ) / span * 60 / ph.Optimum()
				} else {
					row.Concurrency = ptr(0.0)
				}
				// From the unrounded goodput: a 70 s provider's optimum is 0.9 a minute.
				row.GoodputPct = ptr(round(pct, 1))
				l := 0.0
				if n > 0 {
					l = round(float64(lat)/float64(n)/float64(ph.Latency), 3)
				}
				row.Latency = ptr(l)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// recoveredAfter returns the start, in seconds from second from of the phase, of the first window
// from then on whose successes reach RecoveryShare of optimum (records per minute).
func recoveredAfter(perSecond []int, from int, optimum float64, window time.Duration) (float64, bool) {
	w := int(window.Seconds())
	need := RecoveryShare * optimum / 60 * float64(w)
	sum := 0
	for end := from + 1; end <= len(perSecond); end++ {
		sum += perSecond[end-1]
		if end-from > w {
			sum -= perSecond[end-1-w]
		}
		if end-from >= w && float64(sum) >= need {
			return float64(end - w - from), true
		}
	}
	return 0, false
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ptr[T any](v T) *T { return &v }
