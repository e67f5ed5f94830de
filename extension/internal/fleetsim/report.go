package fleetsim

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints one line per combo: each system's trip probability per window, mean time to
// trip, calls sent while failing, and breakerbox's and the peers' DynamoDB reads and writes per
// second; then the breaker's errors against the reference and the last line.
func WriteTable(w io.Writer, cfg Config, res *Results) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "shape\tkind\trate\t|\ttrip/window: ref\tbbox\tpt\tcbl\t|\ttime to trip s: ref\tbbox\tpt\tcbl\t|\tsent of offered: ref\tbbox\tpt\tcbl\toffered\t|\treads/s: bbox\tpt\tcbl\t|\twrites/s: bbox\tpt\tcbl\t|\tfalse\tmissed\t\n")
	for _, r := range res.Rows {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\t%s\t%d%%\t|\t", r.Shape, r.Kind, int(r.Rate*100+0.5))
		for _, s := range r.Sys {
			fmt.Fprintf(&b, "%.3f\t", s.TripRate)
		}
		b.WriteString("|\t")
		for _, s := range r.Sys {
			b.WriteString(secs(s) + "\t")
		}
		b.WriteString("|\t")
		for _, s := range r.Sys {
			fmt.Fprintf(&b, "%.0f\t", s.Sent)
		}
		fmt.Fprintf(&b, "%.0f\t|\t", r.Sys[iRef].Offered)
		for _, s := range r.Sys[1:] {
			fmt.Fprintf(&b, "%.2f\t", s.ReadsPerSec)
		}
		b.WriteString("|\t")
		for _, s := range r.Sys[1:] {
			fmt.Fprintf(&b, "%.2f\t", s.WritesPerSec)
		}
		fmt.Fprintf(&b, "|\t%d\t%d\t\n", r.FalseTrips, r.MissedTrips)
		if _, err := io.WriteString(tw, b.String()); err != nil {
			return fmt.Errorf("fleetsim: write table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("fleetsim: write table: %w", err)
	}
	fmt.Fprintf(w, "\nref = one process seeing every call (the policy itself); bbox = breakerbox (the real breaker, cache and\n"+
		"flush path, %d counter shards, cache TTL %s, flush interval %s); pt = Powertools for AWS Lambda's circuit breaker;\n"+
		"cbl = npm circuitbreaker-lambda. %d runs per row; shapes:\n", cfg.Settings.Shards, cfg.Settings.CacheTTL, cfg.Settings.FlushInterval, cfg.Runs)
	for _, s := range cfg.Shapes {
		fmt.Fprintf(w, "  %-7s %s\n", s.Name, s.Describe())
	}
	for _, r := range res.Rows {
		if r.FalseTrips+r.MissedTrips > 0 || r.HealthyWrites > 0 {
			fmt.Fprintf(w, "breakerbox errs at %s %s %d%%: %d false trips%s, %d missed trips, %d healthy writes in %d runs\n",
				r.Shape, r.Kind, int(r.Rate*100+0.5), r.FalseTrips, byRule(r.FalseBy), r.MissedTrips, r.HealthyWrites, r.Runs)
			if r.FalseExample != "" {
				fmt.Fprintf(w, "  first false trip: %q\n", r.FalseExample)
			}
		}
	}
	if res.Trip100Shape != "" || res.Slow100Shape != "" || res.Writes5Shape != "" {
		fmt.Fprintf(w, "breakerbox's largest: time to trip at 100%% failures on %s, at 100%% slow calls on %s; writes per call at 5%% on %s\n",
			orNone(res.Trip100Shape), orNone(res.Slow100Shape), orNone(res.Writes5Shape))
	}
	if res.PerIntervalMax > 1 {
		fmt.Fprintf(w, "breakerbox's most counter writes by one environment within one flush interval: %d, on %s\n", res.PerIntervalMax, res.PerIntervalShape)
	}
	_, err := fmt.Fprintln(w, LastLine(res))
	return err
}

// LastLine is the table's last line: the totals, breakerbox's worst speed and cost over the shapes
// (sparse excepted), and the most counter writes one environment made within one flush interval
// (every shape; the budget is 1).
func LastLine(res *Results) string {
	return fmt.Sprintf("fleet: runs=%d false-trips=%d missed-trips=%d healthy-writes=%d trip-100-max=%.1fs slow-100-max=%.1fs writes-per-call-5pct=%.3f writes-per-env-interval-max=%d",
		res.Runs, res.FalseTrips, res.MissedTrips, res.HealthyWrites, res.Trip100Max.Seconds(), res.Slow100Max.Seconds(), res.WritesPerCall5, res.PerIntervalMax)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func secs(s SystemRow) string {
	if s.Trips == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", s.TimeToTrip.Seconds())
}

// WriteJSON writes the rows as JSON, for the chart and for diffing two runs.
func WriteJSON(w io.Writer, res *Results) error {
	type sys struct {
		System        string  `json:"system"`
		TripRate      float64 `json:"tripRate"`
		TimeToTripS   float64 `json:"timeToTripS"`
		Sent          float64 `json:"sent"`
		ReadsPerSec   float64 `json:"readsPerSec"`
		WritesPerSec  float64 `json:"writesPerSec"`
		WritesPerCall float64 `json:"writesPerCall"`
	}
	type row struct {
		Shape         string  `json:"shape"`
		Kind          Kind    `json:"kind"`
		Rate          float64 `json:"rate"`
		Runs          int     `json:"runs"`
		Offered       float64 `json:"offered"`
		Systems       []sys   `json:"systems"`
		FalseTrips    int     `json:"falseTrips"`
		MissedTrips   int     `json:"missedTrips"`
		HealthyWrites int64   `json:"healthyWrites"`
	}
	out := make([]row, 0, len(res.Rows))
	for _, r := range res.Rows {
		x := row{Shape: r.Shape, Kind: r.Kind, Rate: r.Rate, Runs: r.Runs, Offered: r.Sys[iRef].Offered,
			FalseTrips: r.FalseTrips, MissedTrips: r.MissedTrips, HealthyWrites: r.HealthyWrites}
		for i, s := range r.Sys {
			x.Systems = append(x.Systems, sys{System: Systems[i], TripRate: s.TripRate, TimeToTripS: s.TimeToTrip.Round(time.Millisecond).Seconds(),
				Sent: s.Sent, ReadsPerSec: s.ReadsPerSec, WritesPerSec: s.WritesPerSec, WritesPerCall: s.WritesPerCall})
		}
		out = append(out, x)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("fleetsim: write json: %w", err)
	}
	return nil
}

// WriteMarkdown writes the table for docs/results.md: each cell holds the systems' figures in the order
// reference / breakerbox / Powertools / circuitbreaker-lambda (DynamoDB cells: without the reference).
func WriteMarkdown(w io.Writer, res *Results) error {
	var b strings.Builder
	b.WriteString("| shape | incident | rate | trip per window | time to trip s | calls sent (of offered) | reads/s | writes/s | false | missed |\n")
	b.WriteString("|---|---|---:|---|---|---|---|---|---:|---:|\n")
	for _, r := range res.Rows {
		var trip, ttt, sent, reads, writes []string
		for i, s := range r.Sys {
			trip = append(trip, fmt.Sprintf("%.2f", s.TripRate))
			ttt = append(ttt, secs(s))
			sent = append(sent, fmt.Sprintf("%.0f", s.Sent))
			if i != iRef {
				reads = append(reads, fmt.Sprintf("%.2f", s.ReadsPerSec))
				writes = append(writes, fmt.Sprintf("%.2f", s.WritesPerSec))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d %% | %s | %s | %s (%.0f) | %s | %s | %d | %d |\n", r.Shape, kindName(r.Kind), int(r.Rate*100+0.5),
			strings.Join(trip, " / "), strings.Join(ttt, " / "), strings.Join(sent, " / "), r.Sys[iRef].Offered,
			strings.Join(reads, " / "), strings.Join(writes, " / "), r.FalseTrips, r.MissedTrips)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("fleetsim: write markdown: %w", err)
	}
	return nil
}

// byRule lists the false trips by rule, in a stable order: " (3 consecutive failures, 2 failure rate)".
func byRule(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return " (by " + strings.Join(parts, ", ") + ")"
}
