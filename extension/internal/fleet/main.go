// Command fleet runs the fleet simulator (make fleet): the real breaker for up to 500 Lambda
// environments on a virtual clock, next to the single-process reference and two peers' rules, over
// eight traffic shapes and the true failure and slow-call rates. It prints the table, ends
// with `fleet: runs=N false-trips=N missed-trips=N healthy-writes=N trip-100-max=Ts slow-100-max=Ts
// writes-per-call-5pct=X writes-per-env-interval-max=N` (results.go defines each figure), and writes results.json,
// table.md (the table in docs/results.md) and tripprob.svg to -out. It prints figures; it does not pass or fail on them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/fleetsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := fleetsim.DefaultConfig()
	out := flag.String("out", "out/fleet", "folder for results.json, table.md and tripprob.svg")
	flag.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs (windows) per shape, kind and rate")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of every random draw")
	shapes := flag.String("shapes", "", "comma list of shapes to run (default: all)")
	envs := flag.Int("envs", 0, "environments of the spread shape (default 150, at most 500)")
	flag.DurationVar(&cfg.Settings.CacheTTL, "cache-ttl", cfg.Settings.CacheTTL, "the extension's BREAKERBOX_CACHE_TTL: how old a circuit copy may be, so how long a bad-window mark takes to reach every environment")
	flag.DurationVar(&cfg.Settings.FlushInterval, "flush-interval", cfg.Settings.FlushInterval, "the extension's BREAKERBOX_FLUSH_INTERVAL")
	recent := flag.Duration("recent-span", cfg.Settings.Policy.RecentSpan, "the policy's BREAKERBOX_RECENT_SPAN (0: off)")
	flag.Parse()
	cfg.Settings.Policy.RecentSpan = *recent
	if *envs != 0 {
		for i := range cfg.Shapes {
			if cfg.Shapes[i].Name == "spread" {
				cfg.Shapes[i].Envs = *envs
			}
		}
	}
	if *shapes != "" {
		var picked []fleetsim.Shape
		for _, name := range strings.Split(*shapes, ",") {
			s, err := fleetsim.ShapeByName(cfg.Shapes, strings.TrimSpace(name))
			if err != nil {
				return err
			}
			picked = append(picked, s)
		}
		cfg.Shapes = picked
	}
	// The simulation allocates many short-lived objects and holds little: fewer collections, same results.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	started := time.Now()
	res, err := fleetsim.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	if err := writeFile(filepath.Join(*out, "results.json"), func(f *os.File) error { return fleetsim.WriteJSON(f, res) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*out, "table.md"), func(f *os.File) error { return fleetsim.WriteMarkdown(f, res) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*out, "tripprob.svg"), func(f *os.File) error { return fleetsim.WritePlot(f, res) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fleet: simulated in %s; results.json, table.md and tripprob.svg in %s\n", time.Since(started).Round(time.Millisecond), *out)
	return fleetsim.WriteTable(os.Stdout, cfg, res)
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
