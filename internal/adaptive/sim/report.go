package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints rows side by side: one line per provider (base latency and discipline) and
// phase, with the optimum and, for each of policies, the goodput in % of the optimum, the mean
// concurrency over the capacity and the mean latency over the base latency; in an outage the
// batches sent before the ventilator stopped, after one the seconds to recover.
func WriteTable(w io.Writer, rows []Row, policies []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "base\tqueue\tphase\toptimum/min\t"
	for _, p := range policies {
		head += p + " %opt\tconc/C\tlat/base\ttrip batches\trecover s (ratio)\t"
	}
	fmt.Fprintln(tw, head)
	type key struct{ base, disc, phase string }
	byKey := map[key]map[string]Row{}
	var order []key
	for _, r := range rows {
		k := key{r.Base, r.Discipline, r.Phase}
		if byKey[k] == nil {
			byKey[k] = map[string]Row{}
			order = append(order, k)
		}
		byKey[k][r.Policy] = r
	}
	prev := ""
	for _, k := range order {
		if prev != "" && prev != k.base+k.disc {
			fmt.Fprintln(tw, strings.Repeat("\t", 4+5*len(policies)))
		}
		prev = k.base + k.disc
		line := fmt.Sprintf("%s\t%s\t%s\t", k.base, k.disc, k.phase)
		first := true
		for _, p := range policies {
			r, ok := byKey[k][p]
			if !ok {
				line += "\t\t\t\t\t"
				continue
			}
			if first {
				line += num(r.Optimum) + "\t"
				first = false
			}
			line += opt(r.GoodputPct, 1) + "\t" + opt(r.Concurrency, 2) + "\t" + opt(r.Latency, 2) + "\t"
			switch {
			case r.Optimum == 0 && r.TripBatches == nil:
				line += "never\t"
			case r.TripBatches != nil:
				line += strconv.Itoa(*r.TripBatches) + "\t"
			default:
				line += "-\t"
			}
			rec := opt(r.RecoverAfterS, 0)
			if r.RecoverRatio != nil {
				rec += " (" + opt(r.RecoverRatio, 2) + ")"
			}
			line += rec + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("sim: write table: %w", err)
	}
	return nil
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

// opt formats *v with digits decimals, "-" for nil.
func opt(v *float64, digits int) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', digits, 64)
}
