// Command sim plays the ventilator's four-phase scenario (healthy, degraded, outage, recovered)
// against simulated providers of 5 ms, 200 ms, 30 s and 70 s base latency, each shared, FIFO and
// limited, prints the default policy next to step (the original rule) and knee (the batch-level
// controller it replaces) and the optimum for one seed, then the default policy's
// worst figures over seeds 1–30 per provider, and ends with the `sim:` line. With -rows (and
// -phases) it also prints, before that line, the default policy's figures per seed and phase of the
// providers named, so that the seed behind a worst figure can be read without editing code. It
// writes results.json and concurrency.svg to the -out folder. `make sim` runs it with -out out/sim.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/adaptive/sim"
	"github.com/breakerbox/breakerbox/internal/outlock"
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h: the usage is printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sim: "+strings.TrimPrefix(err.Error(), "sim: "))
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("sim", flag.ContinueOnError)
	out := flags.String("out", "out/sim", "folder for results.json and concurrency.svg (the chart plays the 200ms providers: none without 200ms in -bases)")
	seed := flags.Uint64("seed", 1, "seed of the side-by-side table")
	seeds := flags.Int("seeds", 30, "the sim: line sweeps seeds 1 to this")
	policy := flags.String("policy", adaptive.DefaultPolicy, "the policy summarised")
	compare := flags.String("compare", adaptive.PolicyStep+","+adaptive.PolicyKnee, "policies shown next to it, comma-separated")
	bases := flags.String("bases", "5ms,200ms,30s,70s", "providers' healthy base latencies, comma-separated")
	queues := flags.String("queues", "shared,fifo,limited", "providers' disciplines, comma-separated")
	source := flags.String("source", "kinesis", "the ventilator's event source: kinesis or sqs (invocations as the ventilator scales its mapping, batches of at most 10)")
	pollers := flags.Int("pollers", 1, "on kinesis, the ventilators running at once over one controller state (open shards x parallelization factor)")
	rowsOf := flags.String("rows", "", "also print the summarised policy's rows per seed and phase of these providers, comma-separated: a base latency (70s) or a base and a discipline (70s/fifo)")
	phases := flags.String("phases", "", "with -rows, only these phases, comma-separated (healthy,degraded,outage,recovered)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags only; -h lists them)", flags.Args())
	}
	if *seeds < 1 || *seeds > maxSeeds {
		return fmt.Errorf("-seeds must be from 1 to %d, got %d", maxSeeds, *seeds)
	}
	src, err := sim.ParseSource(*source)
	if err != nil {
		return err
	}
	if *pollers < 1 || src == sim.SQS && *pollers != 1 {
		return fmt.Errorf("-pollers must be at least 1, and only kinesis takes it (sqs runs as many invocations as its mapping allows), got %d", *pollers)
	}
	providers, err := parseProviders(*bases, *queues, src, *pollers)
	if err != nil {
		return err
	}
	keep, err := parseRows(*rowsOf)
	if err != nil {
		return err
	}
	if err := checkPhases(*phases, keep != nil); err != nil {
		return err
	}
	if keep != nil && !slices.ContainsFunc(providers, keep) {
		return fmt.Errorf("-rows %s names none of the providers played (-bases %s, -queues %s)", *rowsOf, *bases, *queues)
	}
	names := append([]string{*policy}, splitList(*compare)...)
	if err := checkPolicies(names); err != nil {
		return err
	}
	// The folder is this run's alone: another sim writing there would mix its files with these.
	lock, err := outlock.Lock(*out, "sim")
	if err != nil {
		return err
	}
	defer lock.Close()
	start := time.Now()

	var rows []sim.Row
	var plotted bool
	for _, pr := range providers {
		ps, err := sim.NewPolicies(pr.Fit(sim.SimConfig(pr.Base)), names...)
		if err != nil {
			return err
		}
		sc := pr.Scenario()
		sc.Seed = *seed
		outs, err := sim.Run(sc, ps)
		if err != nil {
			return err
		}
		rows = append(rows, sim.Rows(sc, outs)...)
		if !plotted && pr.Base == plotBase {
			if err := writePlot(*out, sc, outs); err != nil {
				return err
			}
			plotted = true
		}
	}
	if !plotted {
		// A chart left by an earlier run would pass for this one's.
		if err := os.Remove(filepath.Join(*out, "concurrency.svg")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the earlier run's chart: %w", err)
		}
	}
	fmt.Fprintf(stdout, "seed %d: goodput in %% of the optimum, mean concurrency / C and mean latency / base latency per phase\n"+
		"(after the outage: from the moment the circuit closes); batches sent into the outage; seconds from the circuit closing\n"+
		"to 90 %% of the optimum (and that over max(90 s, 4 x base latency), the target being at most 1)\n\n", *seed)
	if err := sim.WriteTable(stdout, rows, names); err != nil {
		return err
	}
	if err := writeJSON(*out, rows); err != nil {
		return err
	}

	list := make([]uint64, *seeds)
	for i := range list {
		list[i] = uint64(i + 1)
	}
	per, all, seedRows, err := sim.SweepRows(*policy, providers, list, sim.SimConfig, keep)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s over seeds 1-%d, worst per provider:\n\n", *policy, *seeds)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "provider\tgoodput-min %\tconcurrency-max\tlatency-max\ttrip-batches-max\trecover-max s\trecover-ratio-max\tpoison-drop %\tlost\tduplicates\t")
	for i, s := range per {
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%d\t%.0f\t%.2f\t%.1f\t%d\t%d\t\n", providers[i], min(s.GoodputMin, s.GoodputMinSlow), s.ConcurrencyMax,
			s.LatencyMax, s.TripBatchesMax, s.RecoverMax, s.RecoverRatioMax, s.PoisonDrop, s.Lost, s.Duplicates)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if keep != nil {
		fmt.Fprintf(stdout, "\n%s per seed (-rows %s):\n\n", *policy, *rowsOf)
		if err := sim.WriteSeedRows(stdout, seedRows, splitList(*phases)); err != nil {
			return err
		}
	}
	if !plotted {
		fmt.Fprintf(stdout, "\nno concurrency.svg: the chart plays a %s provider, and -bases has none\n", plotBase)
	}
	fmt.Fprintf(stdout, "\n%d runs (%d providers x %d seeds, with and without poison records) and the table in %.1fs on %d CPUs\n",
		2*all.Runs, len(providers), *seeds, time.Since(start).Seconds(), runtime.GOMAXPROCS(0))
	fmt.Fprintln(stdout, all.Line())
	return nil
}

// maxSeeds bounds -seeds: each seed is a dozen simulations per provider (30 take minutes), and
// the list of seeds is held in memory.
const maxSeeds = 100_000

// plotBase is the base latency of the provider concurrency.svg plays.
const plotBase = 200 * time.Millisecond

// parseProviders crosses the base latencies and the disciplines. A value named twice is an error:
// it would be played and counted twice.
func parseProviders(bases, queues string, src sim.Source, pollers int) ([]sim.Provider, error) {
	var out []sim.Provider
	var durs []time.Duration
	for _, b := range splitList(bases) {
		d, err := time.ParseDuration(b)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("-bases: %q is not a positive duration such as 200ms", b)
		}
		if slices.Contains(durs, d) {
			return nil, fmt.Errorf("-bases %s: %s is named twice", bases, d)
		}
		durs = append(durs, d)
		var discs []sim.Discipline
		for _, q := range splitList(queues) {
			disc, err := sim.ParseDiscipline(q)
			if err != nil {
				return nil, fmt.Errorf("-queues: %w", err)
			}
			if slices.Contains(discs, disc) {
				return nil, fmt.Errorf("-queues %s: %s is named twice", queues, q)
			}
			discs = append(discs, disc)
			out = append(out, sim.Provider{Base: d, Discipline: disc, Source: src, Pollers: pollers})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no provider: -bases and -queues must each name at least one")
	}
	return out, nil
}

// parseRows reads -rows: providers named by a base latency ("70s", every discipline) or a base
// latency and a discipline ("70s/fifo"), comma-separated. It returns nil for an empty list.
func parseRows(s string) (func(sim.Provider) bool, error) {
	type sel struct {
		base time.Duration
		disc *sim.Discipline
	}
	var sels []sel
	for _, f := range splitList(s) {
		b, q, both := strings.Cut(f, "/")
		d, err := time.ParseDuration(strings.TrimSpace(b))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("-rows: %q does not start with a positive duration such as 70s", f)
		}
		one := sel{base: d}
		if both {
			disc, err := sim.ParseDiscipline(strings.TrimSpace(q))
			if err != nil {
				return nil, fmt.Errorf("-rows: %w", err)
			}
			one.disc = &disc
		}
		sels = append(sels, one)
	}
	if len(sels) == 0 {
		return nil, nil
	}
	return func(p sim.Provider) bool {
		for _, s := range sels {
			if s.base == p.Base && (s.disc == nil || *s.disc == p.Discipline) {
				return true
			}
		}
		return false
	}, nil
}

// checkPolicies reports a policy of -policy and -compare that is unknown or named twice.
func checkPolicies(names []string) error {
	known := []string{adaptive.PolicyPace, adaptive.PolicyKnee, adaptive.PolicyStep, adaptive.PolicyAIMD, adaptive.PolicyGradient}
	for i, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("-policy, -compare: unknown policy %q (want %s)", n, strings.Join(known, ", "))
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("-policy, -compare: %s is named twice (-compare lists the policies shown next to -policy)", n)
		}
	}
	return nil
}

// checkPhases reports a -phases list that names a phase the scenario does not have, or that comes
// without -rows.
func checkPhases(s string, rows bool) error {
	list := splitList(s)
	if len(list) > 0 && !rows {
		return fmt.Errorf("-phases needs -rows")
	}
	var known []string
	for _, ph := range sim.DefaultScenario(time.Second, sim.Shared).Phases {
		known = append(known, ph.Name)
	}
	for _, ph := range list {
		if !slices.Contains(known, ph) {
			return fmt.Errorf("-phases: unknown phase %q (want %s)", ph, strings.Join(known, ", "))
		}
	}
	return nil
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
