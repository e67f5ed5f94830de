package sim

import (
	"math"
	"time"
)

// RecoveryWindow is the sliding window over which goodput must reach RecoveryShare of the optimum
// for a phase after an outage to count as recovered.
const RecoveryWindow = 10 * time.Second

// RecoveryShare is the share of the optimum that counts as recovered.
const RecoveryShare = 0.9

// Row holds the figures of one policy in one phase, as written to results.json. A figure that does
// not apply to the phase is nil (null in JSON), and so is a trip or a recovery that never happened.
type Row struct {
	// Policy is the policy's name.
	Policy string `json:"policy"`
	// Phase is the phase's name.
	Phase string `json:"phase"`
	// Goodput is the rate of first successes, in records per minute.
	Goodput float64 `json:"goodput"`
	// Optimum is the phase's capacity over its base latency, in records per minute.
	Optimum float64 `json:"optimum"`
	// CallsWhileDown counts calls sent while the provider was down (outage phases only).
	CallsWhileDown *int `json:"callsWhileDown"`
	// TripAfterS is how many seconds after an outage began the policy tripped (outage phases only).
	TripAfterS *float64 `json:"tripAfterS"`
	// RecoverAfterS is how many seconds after an outage ended the goodput over RecoveryWindow first
	// reached RecoveryShare of the optimum (phases right after an outage only).
	RecoverAfterS *float64 `json:"recoverAfterS"`
	// OverCapacityS is how many seconds more calls than the provider's capacity were in flight.
	OverCapacityS float64 `json:"overCapacityS"`
	// Lost counts records that arrived in the phase and vanished.
	Lost int `json:"lost"`
	// Duplicates counts records that succeeded more than once.
	Duplicates int `json:"duplicates"`

	// TripBatches is how many batches the outage had started when the policy tripped (0 if it did
	// not); not written to results.json.
	TripBatches int `json:"-"`
	// MeanLatencyMs is the mean latency of the successful calls sent in the phase; not written to
	// results.json.
	MeanLatencyMs float64 `json:"-"`
	// MeanBatch is the mean batch size of the batches started in the phase; not written to
	// results.json.
	MeanBatch float64 `json:"-"`
}

// Rows turns the outcomes of Run into one Row per policy and phase, policy by policy.
func Rows(sc Scenario, outs []Outcome) []Row {
	var rows []Row
	for _, o := range outs {
		for i, ph := range sc.Phases {
			st := o.Phases[i]
			row := Row{
				Policy:        o.Policy,
				Phase:         ph.Name,
				Goodput:       round(float64(st.Successes)/ph.Duration.Minutes(), 1),
				Optimum:       round(ph.Optimum(), 1),
				OverCapacityS: round(st.OverCapacity.Seconds(), 1),
				Lost:          st.Lost,
				Duplicates:    st.Duplicates,
			}
			if st.Batches > 0 {
				row.MeanBatch = round(float64(st.BatchSizeSum)/float64(st.Batches), 1)
			}
			if st.OKCalls > 0 {
				row.MeanLatencyMs = round(float64(st.OKLatency.Milliseconds())/float64(st.OKCalls), 0)
			}
			if ph.Down() {
				calls := st.Calls
				row.CallsWhileDown = &calls
				if st.TripAfter >= 0 {
					row.TripAfterS = ptr(round(st.TripAfter.Seconds(), 1))
					row.TripBatches = st.TripBatches
				}
			}
			if i > 0 && sc.Phases[i-1].Down() && !ph.Down() {
				if s, ok := recoveredAfter(st.PerSecond, ph.Optimum()); ok {
					row.RecoverAfterS = ptr(s)
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// recoveredAfter returns the end, in seconds from the phase start, of the first window of
// RecoveryWindow whose successes reach RecoveryShare of optimum (records per minute).
func recoveredAfter(perSecond []int, optimum float64) (float64, bool) {
	w := int(RecoveryWindow.Seconds())
	need := RecoveryShare * optimum / 60 * float64(w)
	sum := 0
	for end := 1; end <= len(perSecond); end++ {
		sum += perSecond[end-1]
		if end > w {
			sum -= perSecond[end-1-w]
		}
		if end >= w && float64(sum) >= need {
			return float64(end), true
		}
	}
	return 0, false
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ptr[T any](v T) *T { return &v }
