// Command sim plays the ventilator's four-phase scenario (healthy, degraded, outage, recovered) once
// for each batch-size policy, prints a table of the results and writes results.json and
// batchsize.svg to the -out folder. `make sim` runs it with -out out/sim.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

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
	out := flag.String("out", "out/sim", "folder for results.json and batchsize.svg")
	seed := flag.Uint64("seed", 1, "seed of every random draw")
	queue := flag.String("queue", "shared", "how the provider queues calls beyond its capacity: shared or fifo")
	flag.Parse()

	sc := sim.DefaultScenario()
	sc.Seed = *seed
	d, err := sim.ParseDiscipline(*queue)
	if err != nil {
		return err
	}
	sc.Discipline = d
	policies, err := sim.DefaultPolicies(adaptive.DefaultConfig())
	if err != nil {
		return err
	}
	outs, err := sim.Run(sc, policies)
	if err != nil {
		return err
	}
	rows := sim.Rows(sc, outs)
	if err := sim.WriteTable(os.Stdout, rows); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	f, err := os.Create(filepath.Join(*out, "results.json"))
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
	svg, err := os.Create(filepath.Join(*out, "batchsize.svg"))
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
