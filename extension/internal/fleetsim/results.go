package fleetsim

import (
	"strings"
	"time"
)

// SystemRow is what one system did over the runs of one combo.
type SystemRow struct {
	// Trips counts runs in which the circuit opened within the shape's window after the incident
	// started; TripRate is Trips over the runs.
	Trips    int
	TripRate float64
	// TimeToTrip is the mean time from the incident's first failing (or slow) call to the trip, over
	// the runs that tripped (zero when none did).
	TimeToTrip time.Duration
	// WritesPerCall is the DynamoDB writes over the incident's span divided by the calls sent in it.
	WritesPerCall float64
	// Sent is the mean number of the incident's calls that went out per run, of Offered asked about.
	Sent, Offered float64
	// ReadsPerSec and WritesPerSec are DynamoDB calls per second over the incident's span.
	ReadsPerSec, WritesPerSec float64
}

// Row is one combo: each system's figures, and the breaker's errors against the reference.
type Row struct {
	Shape string
	Kind  Kind
	Rate  float64
	Runs  int
	// Sys holds one SystemRow per entry of Systems.
	Sys []SystemRow
	// FalseTrips: runs at a rate of 25 % or less in which breakerbox tripped within the window.
	// MissedTrips: runs at 75 % or more in which breakerbox did not trip within the window. On a
	// shape decided by its low-traffic run rule (ByReport: sparse), where the policy itself trips on
	// three failures in a row at 25 % and may see none at 75 %, they are judged against the
	// reference: a trip it did not make, a trip it made that breakerbox missed by the deadline.
	// HealthyWrites: breakerbox's writes over whole runs at 0 %.
	FalseTrips, MissedTrips int
	HealthyWrites           int64
	// PerInterval is the most counter writes one breakerbox environment made within one flush
	// interval, over the row's runs (the budget: 1).
	PerInterval int
	// FalseBy counts the false trips by the rule that made them ("consecutive failures",
	// "failure rate", "slow-call rate").
	FalseBy map[string]int
	// FalseExample is the reason breakerbox gave for the first false trip.
	FalseExample string
}

// Results are every row and the totals of the last line.
type Results struct {
	Rows []Row
	// Runs counts the runs (windows) of every combo together.
	Runs                    int
	FalseTrips, MissedTrips int
	HealthyWrites           int64
	// Trip100Max and Slow100Max are the largest, over shapes (sparse excepted), of breakerbox's mean
	// time to trip at 100 % failures and 100 % slow calls; WritesPerCall5 the largest of its writes
	// per call sent at 5 % failures. Their Shape fields name the shape it was found on.
	Trip100Max, Slow100Max                   time.Duration
	WritesPerCall5                           float64
	Trip100Shape, Slow100Shape, Writes5Shape string
	// PerIntervalMax is the most counter writes one breakerbox environment made within one flush
	// interval, over every run of every shape; PerIntervalShape names the first shape it was found on.
	PerIntervalMax   int
	PerIntervalShape string
}

const (
	iRef = 0 // index of the reference in Systems
	iBox = 1 // index of breakerbox
)

func summarize(cfg Config, combos []Combo, all [][][]played) *Results {
	res := &Results{}
	for c, cb := range combos {
		row := Row{Shape: cb.Shape.Name, Kind: cb.Kind, Rate: cb.Rate, Runs: cfg.Runs, Sys: make([]SystemRow, len(Systems))}
		span := cb.Shape.Span.Seconds()
		var ttt = make([]time.Duration, len(Systems))
		sent := make([]float64, len(Systems))
		writes := make([]float64, len(Systems))
		for _, runs := range all[c] {
			for i, p := range runs {
				s := &row.Sys[i]
				if p.tripped && p.trip < cb.Shape.Window {
					s.Trips++
					ttt[i] += max(p.trip-p.firstBad, 0)
				}
				sent[i] += float64(p.sent)
				writes[i] += float64(p.writes)
				s.Sent += float64(p.sent)
				s.Offered += float64(p.offered)
				s.ReadsPerSec += float64(p.reads) / span
				s.WritesPerSec += float64(p.writes) / span
			}
			ref, box := runs[iRef], runs[iBox]
			if cb.Rate <= 0.25 && box.tripped && box.trip < cb.Shape.Window && (!cb.Shape.ByReport || !ref.tripped) {
				row.FalseTrips++
				if row.FalseBy == nil {
					row.FalseBy = map[string]int{}
				}
				row.FalseBy[rule(box.reason)]++
				if row.FalseExample == "" {
					row.FalseExample = box.reason
				}
			}
			switch {
			case cb.Rate < 0.75:
			case !cb.Shape.ByReport:
				if !box.tripped || box.trip >= cb.Shape.Window {
					row.MissedTrips++
				}
			case ref.tripped && ref.trip < cb.Shape.Window:
				if !box.tripped || box.trip > ref.tripDone {
					row.MissedTrips++
				}
			}
			if cb.Rate == 0 {
				row.HealthyWrites += box.allWrites
			}
			row.PerInterval = max(row.PerInterval, box.perInterval)
		}
		n := float64(cfg.Runs)
		for i := range row.Sys {
			s := &row.Sys[i]
			s.TripRate = float64(s.Trips) / n
			if s.Trips > 0 {
				s.TimeToTrip = ttt[i] / time.Duration(s.Trips)
			}
			s.Sent /= n
			s.Offered /= n
			s.ReadsPerSec /= n
			s.WritesPerSec /= n
			if sent[i] > 0 {
				s.WritesPerCall = writes[i] / sent[i]
			}
		}
		if !cb.Shape.ByReport {
			box := row.Sys[iBox]
			switch {
			case cb.Rate == 1 && cb.Kind == Failures && box.TimeToTrip > res.Trip100Max:
				res.Trip100Max, res.Trip100Shape = box.TimeToTrip, cb.Shape.Name
			case cb.Rate == 1 && cb.Kind == Slow && box.TimeToTrip > res.Slow100Max:
				res.Slow100Max, res.Slow100Shape = box.TimeToTrip, cb.Shape.Name
			case cb.Rate == 0.05 && cb.Kind == Failures && box.WritesPerCall > res.WritesPerCall5:
				res.WritesPerCall5, res.Writes5Shape = box.WritesPerCall, cb.Shape.Name
			}
		}
		if row.PerInterval > res.PerIntervalMax {
			res.PerIntervalMax, res.PerIntervalShape = row.PerInterval, cb.Shape.Name
		}
		res.Rows = append(res.Rows, row)
		res.Runs += row.Runs
		res.FalseTrips += row.FalseTrips
		res.MissedTrips += row.MissedTrips
		res.HealthyWrites += row.HealthyWrites
	}
	return res
}

// rule names the rule behind a trip's reason.
func rule(reason string) string {
	switch {
	case strings.Contains(reason, "consecutive"):
		return "consecutive failures"
	case strings.HasPrefix(reason, "failure rate"):
		return "failure rate"
	case strings.HasPrefix(reason, "slow call rate"):
		return "slow-call rate"
	}
	return "other: " + reason
}
