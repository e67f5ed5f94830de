// Command sim plays the ventilator's four-phase scenario (healthy, degraded, outage, recovered)
// against simulated providers of 5 ms, 200 ms, 30 s and 70 s base latency, each shared, FIFO and
// limited, prints the default policy next to step (the original rule) and knee (the batch-level
// controller it replaces) and the optimum for one seed, then the default policy's
// worst figures over seeds 1–30 per provider, and ends with the `sim:` line. It writes
// results.json and concurrency.svg to the -out folder. `make sim` runs it with -out out/sim.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/adaptive/sim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "out/sim", "folder for results.json and concurrency.svg")
	seed := flag.Uint64("seed", 1, "seed of the side-by-side table")
	seeds := flag.Int("seeds", 30, "the sim: line sweeps seeds 1 to this")
	policy := flag.String("policy", adaptive.DefaultPolicy, "the policy summarised")
	compare := flag.String("compare", adaptive.PolicyStep+","+adaptive.PolicyKnee, "policies shown next to it, comma-separated")
	bases := flag.String("bases", "5ms,200ms,30s,70s", "providers' healthy base latencies, comma-separated")
	queues := flag.String("queues", "shared,fifo,limited", "providers' disciplines, comma-separated")
	flag.Parse()
	if *seeds < 1 {
		return fmt.Errorf("-seeds must be at least 1, got %d", *seeds)
	}
	providers, err := parseProviders(*bases, *queues)
	if err != nil {
		return err
	}
	names := append([]string{*policy}, splitList(*compare)...)
	start := time.Now()

	var rows []sim.Row
	var plotted bool
	for _, pr := range providers {
		ps, err := sim.NewPolicies(sim.SimConfig(pr.Base), names...)
		if err != nil {
			return err
		}
		sc := sim.DefaultScenario(pr.Base, pr.Discipline)
		sc.Seed = *seed
		outs, err := sim.Run(sc, ps)
		if err != nil {
			return err
		}
		rows = append(rows, sim.Rows(sc, outs)...)
		if !plotted && pr.Base == 200*time.Millisecond {
			if err := writePlot(*out, sc, outs); err != nil {
				return err
			}
			plotted = true
		}
	}
	fmt.Printf("seed %d: goodput in %% of the optimum, mean concurrency / C and mean latency / base latency per phase\n"+
		"(after the outage: from the moment the circuit closes); batches sent into the outage; seconds from the circuit closing\n"+
		"to 90 %% of the optimum (and that over max(90 s, 4 x base latency), the target being at most 1)\n\n", *seed)
	if err := sim.WriteTable(os.Stdout, rows, names); err != nil {
		return err
	}
	if err := writeJSON(*out, rows); err != nil {
		return err
	}

	list := make([]uint64, *seeds)
	for i := range list {
		list[i] = uint64(i + 1)
	}
	per, all, err := sim.Sweep(*policy, providers, list, sim.SimConfig)
	if err != nil {
		return err
	}
	fmt.Printf("\n%s over seeds 1-%d, worst per provider:\n\n", *policy, *seeds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "provider\tgoodput-min %\tconcurrency-max\tlatency-max\ttrip-batches-max\trecover-max s\trecover-ratio-max\tpoison-drop %\tlost\tduplicates\t")
	for i, s := range per {
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%d\t%.0f\t%.2f\t%.1f\t%d\t%d\t\n", providers[i], min(s.GoodputMin, s.GoodputMinSlow), s.ConcurrencyMax,
			s.LatencyMax, s.TripBatchesMax, s.RecoverMax, s.RecoverRatioMax, s.PoisonDrop, s.Lost, s.Duplicates)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	fmt.Printf("\n%d runs (%d providers x %d seeds, with and without poison records) and the table in %.1fs on %d CPUs\n",
		2*all.Runs, len(providers), *seeds, time.Since(start).Seconds(), runtime.GOMAXPROCS(0))
	fmt.Println(all.Line())
	return nil
}

// parseProviders crosses the base latencies and the disciplines.
func parseProviders(bases, queues string) ([]sim.Provider, error) {
	var out []sim.Provider
	for _, b := range splitList(bases) {
		d, err := time.ParseDuration(b)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("-bases: %q is not a positive duration such as 200ms", b)
		}
		for _, q := range splitList(queues) {
			disc, err := sim.ParseDiscipline(q)
			if err != nil {
				return nil, err
			}
			out = append(out, sim.Provider{Base: d, Discipline: disc})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no provider: -bases and -queues must each name at least one")
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func writeJSON(dir string, rows []sim.Row) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, "results.json"))
	if err != nil {
		return fmt.Errorf("create results: %w", err)
	}
	if err := sim.WriteJSON(f, rows); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close results: %w", err)
	}
	return nil
}

func writePlot(dir string, sc sim.Scenario, outs []sim.Outcome) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	svg, err := os.Create(filepath.Join(dir, "concurrency.svg"))
	if err != nil {
		return fmt.Errorf("create plot: %w", err)
	}
	if err := sim.WritePlot(svg, sc, outs); err != nil {
		svg.Close()
		return err
	}
	if err := svg.Close(); err != nil {
		return fmt.Errorf("close plot: %w", err)
	}
	return nil
}
