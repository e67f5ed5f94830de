package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
			line += opt(r.GoodputPct, 1) + "\t" + opt(r.Concurrency, 2) + "\t" + opt(r.Latency, 2) + "\t" +
				tripCell(r) + "\t" + recoverCell(r) + "\t"
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

// WriteSeedRows prints the rows of a sweep one line per seed, provider and phase (only the phases
// named in phases, every phase when it is empty): the goodput in % of the optimum, the mean
// concurrency over the capacity, the mean latency over the base latency, the batches sent into an
// outage and the recovery, as WriteTable prints them for one seed.
func WriteSeedRows(w io.Writer, runs []SeedRows, phases []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	io.WriteString(tw, "seed\tbase\tqueue\tphase\toptimum/min\t%opt\tconc/C\tlat/base\ttrip batches\trecover s (ratio)\t\n")
	for _, run := range runs {
		for _, r := range run.Rows {
			if len(phases) > 0 && !slices.Contains(phases, r.Phase) {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", run.Seed, r.Base, r.Discipline, r.Phase,
				num(r.Optimum), opt(r.GoodputPct, 1), opt(r.Concurrency, 2), opt(r.Latency, 2), tripCell(r), recoverCell(r))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("sim: write seed rows: %w", err)
	}
	return nil
}

// tripCell is a row's batches sent into an outage: "never" when the ventilator never stopped in
// it, "-" outside an outage.
func tripCell(r Row) string {
	switch {
	case r.Optimum == 0 && r.TripBatches == nil:
		return "never"
	case r.TripBatches != nil:
		return strconv.Itoa(*r.TripBatches)
	}
	return "-"
}

// recoverCell is a row's recovery in seconds and its ratio to the target, "-" when none applies.
func recoverCell(r Row) string {
	rec := opt(r.RecoverAfterS, 0)
	if r.RecoverRatio != nil {
		rec += " (" + opt(r.RecoverRatio, 2) + ")"
	}
	return rec
}
