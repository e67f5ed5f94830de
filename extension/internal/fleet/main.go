// Command fleet runs the fleet simulator (make fleet): the real breaker for up to 500 Lambda
// environments on a virtual clock, next to the single-process reference and two peers' rules, over
// eight traffic shapes and the true failure and slow-call rates. It prints the table, ends
// with `fleet: runs=N false-trips=N missed-trips=N healthy-writes=N trip-100-max=Ts slow-100-max=Ts
// writes-per-call-5pct=X writes-per-env-interval-max=N` (results.go defines each figure), and writes results.json,
// table.md (the table in docs/results.md) and tripprob.svg to -out. It prints figures; it does not pass or fail on them.
//
// Exit status: 0 when it ran, 2 for a bad command line, 130 when interrupted (Ctrl-C), 1 on any
// other error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/fleetsim"
	"github.com/breakerbox/breakerbox/internal/outlock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// maxRuns bounds -runs: fleetsim holds every run's result until the end, and -runs 1000000000
// grew by tens of MB a second towards running out of memory.
const maxRuns = 10_000

// errUsage marks a bad command line (exit status 2).
var errUsage = errors.New("usage")

// run is the command: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := simulate(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0 // -h: the usage is printed
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintln(stderr, "fleet: interrupted: no table and no files written")
		return 130
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "fleet:", strings.TrimSuffix(err.Error(), ": "+errUsage.Error()))
		return 2
	default:
		fmt.Fprintln(stderr, "fleet:", err)
		return 1
	}
}

func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := fleetsim.DefaultConfig()
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "out/fleet", "folder for results.json, table.md and tripprob.svg")
	fs.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs (windows) per shape, kind and rate")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of every random draw")
	shapes := fs.String("shapes", "", "comma list of shapes to run (default: all)")
	envs := fs.Int("envs", 0, "environments of the spread shape, 1 to 500 (default 150)")
	fs.DurationVar(&cfg.Settings.CacheTTL, "cache-ttl", cfg.Settings.CacheTTL, "the extension's BREAKERBOX_CACHE_TTL: how old a circuit copy may be, so how long a bad-window mark takes to reach every environment")
	fs.DurationVar(&cfg.Settings.FlushInterval, "flush-interval", cfg.Settings.FlushInterval, "the extension's BREAKERBOX_FLUSH_INTERVAL")
	recent := fs.Duration("recent-span", cfg.Settings.Policy.RecentSpan, "the policy's BREAKERBOX_RECENT_SPAN (0: off)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w (-h lists the flags): %w", err, errUsage) // the flag package printed the usage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags only; -h lists them): %w", fs.Args(), errUsage)
	}
	if cfg.Runs > maxRuns {
		return fmt.Errorf("-runs %d: at most %d (every run's result is held in memory until the end; the default 100 takes minutes): %w", cfg.Runs, maxRuns, errUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.Settings.Policy.RecentSpan = *recent
	if *shapes != "" || set["shapes"] {
		var picked []fleetsim.Shape
		var names []string
		for name := range strings.SplitSeq(*shapes, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				return fmt.Errorf("-shapes %q: an empty shape name; give a comma list such as dense,spread: %w", *shapes, errUsage)
			}
			if slices.Contains(names, name) {
				return fmt.Errorf("-shapes %q: %s is named twice (it would be run twice and counted twice): %w", *shapes, name, errUsage)
			}
			s, err := fleetsim.ShapeByName(cfg.Shapes, name)
			if err != nil {
				return fmt.Errorf("-shapes: %w: %w", err, errUsage)
			}
			picked = append(picked, s)
			names = append(names, name)
		}
		cfg.Shapes = picked
	}
	if set["envs"] {
		if *envs < 1 || *envs > 500 {
			return fmt.Errorf("-envs %d: want 1 to 500 environments for the spread shape: %w", *envs, errUsage)
		}
		found := false
		for i := range cfg.Shapes {
			if cfg.Shapes[i].Name == "spread" {
				cfg.Shapes[i].Envs = *envs
				found = true
			}
		}
		if !found {
			return fmt.Errorf("-envs sets the spread shape's environments, and -shapes %q leaves spread out: add spread or drop -envs: %w", *shapes, errUsage)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, errUsage)
	}
	// The folder must take the files before minutes of simulation are spent, not after, and be
	// this run's alone: another fleet writing there would mix its files with these.
	lock, err := outlock.Lock(*out, "fleet")
	if err != nil {
		return err
	}
	defer lock.Close()
	// The simulation allocates many short-lived objects and holds little: fewer collections, same results.
	debug.SetGCPercent(400)
	fmt.Fprintf(stderr, "fleet: simulating %d shapes, %d runs per shape, kind and rate, seed %d (Ctrl-C stops)\n",
		len(cfg.Shapes), cfg.Runs, cfg.Seed)
	started := time.Now()
	res, err := fleetsim.Run(ctx, cfg)
	if err != nil {
		return err
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
	fmt.Fprintf(stderr, "fleet: simulated in %s; results.json, table.md and tripprob.svg in %s\n", time.Since(started).Round(time.Millisecond), *out)
	return fleetsim.WriteTable(stdout, cfg, res)
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
