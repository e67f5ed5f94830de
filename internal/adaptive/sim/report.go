package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints rows as an aligned table: one line per policy and phase, "-" where a figure does
// not apply and "never" where a trip or a recovery did not happen.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tphase\tgoodput/min\toptimum/min\t% opt\tmean batch\tmean latency ms\tcalls while down\ttrip after s\ttrip batches\trecover after s\tover capacity s\tlost\tduplicates\t")
	prev := ""
	for _, r := range rows {
		if prev != "" && r.Policy != prev {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
		}
		prev = r.Policy
		pct := "-"
		if r.Optimum > 0 {
			pct = strconv.FormatFloat(100*r.Goodput/r.Optimum, 'f', 1, 64)
		}
		down, trip, tripBatches := "-", "-", "-"
		if r.CallsWhileDown != nil {
			down = strconv.Itoa(*r.CallsWhileDown)
			trip, tripBatches = "never", "never"
			if r.TripAfterS != nil {
				trip = num(*r.TripAfterS)
				tripBatches = strconv.Itoa(r.TripBatches)
			}
		}
		latency := "-"
		if r.MeanLatencyMs > 0 {
			latency = strconv.FormatFloat(r.MeanLatencyMs, 'f', 0, 64)
		}
		recover := "-"
		if r.RecoverAfterS != nil {
			recover = num(*r.RecoverAfterS)
		} else if r.Phase != "" && isAfterOutage(rows, r) {
			recover = "never"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n",
			r.Policy, r.Phase, num(r.Goodput), num(r.Optimum), pct, num(r.MeanBatch), latency, down, trip, tripBatches,
			recover, num(r.OverCapacityS), r.Lost, r.Duplicates)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("sim: write table: %w", err)
	}
	return nil
}

// isAfterOutage reports whether r's phase directly follows a phase in which its policy had calls
// while down.
func isAfterOutage(rows []Row, r Row) bool {
	for i := 1; i < len(rows); i++ {
		if rows[i].Policy == r.Policy && rows[i].Phase == r.Phase {
			return rows[i-1].Policy == r.Policy && rows[i-1].CallsWhileDown != nil && rows[i].CallsWhileDown == nil
		}
	}
	return false
}

// WriteJSON writes rows as an indented JSON list.
func WriteJSON(w io.Writer, rows []Row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("sim: write results: %w", err)
	}
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
