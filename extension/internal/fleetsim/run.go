package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Systems are the deciders compared on the same calls, in table order.
var Systems = []string{"reference", "breakerbox", "powertools", "cb-lambda"}

// Config is one simulation.
type Config struct {
	Settings Settings
	Shapes   []Shape
	// Rates are the true failure (and slow-call) rates; Kinds the incidents played at each. A rate
	// of 0 is played once per shape (it is the same traffic for every kind).
	Rates []float64
	Kinds []Kind
	// Runs is the number of runs (windows) per shape, kind and rate.
	Runs int
	// Seed seeds every draw; Workers bounds the runs played at once (default GOMAXPROCS).
	Seed    uint64
	Workers int
}

// DefaultRates are the true rates.
var DefaultRates = []float64{0, 0.05, 0.25, 0.45, 0.55, 0.75, 1}

// DefaultConfig is `make fleet`'s simulation: every shape, kind and rate, 100 runs each (104 combos,
// 10,400 runs: about 4 minutes on two busy cores; -runs asks for more).
func DefaultConfig() Config {
	s := DefaultSettings()
	return Config{Settings: s, Shapes: Shapes(s.Policy.Window), Rates: DefaultRates, Kinds: []Kind{Failures, Slow}, Runs: 100, Seed: 1}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.Runs < 1 {
		errs = append(errs, fmt.Errorf("runs %d: want at least 1", c.Runs))
	}
	if len(c.Shapes) == 0 || len(c.Rates) == 0 || len(c.Kinds) == 0 {
		errs = append(errs, errors.New("want at least one shape, rate and kind"))
	}
	for _, q := range c.Rates {
		if !(q >= 0 && q <= 1) {
			errs = append(errs, fmt.Errorf("rate %v: want a fraction from 0 to 1", q))
		}
	}
	for _, s := range c.Shapes {
		if s.Envs < 1 || s.Envs > 500 {
			errs = append(errs, fmt.Errorf("shape %s: %d environments, want 1..500", s.Name, s.Envs))
		}
	}
	if c.Settings.CacheTTL <= 0 || c.Settings.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("cache TTL %s, flush interval %s: want both positive", c.Settings.CacheTTL, c.Settings.FlushInterval))
	}
	if err := c.Settings.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Combo is one shape, kind and rate.
type Combo struct {
	Shape Shape
	Kind  Kind
	Rate  float64
}

// combos lists the combinations played: rate 0 once per shape, under the first kind.
func (c Config) combos() []Combo {
	var out []Combo
	for _, s := range c.Shapes {
		for k, kind := range c.Kinds {
			for _, q := range c.Rates {
				if q == 0 && k > 0 {
					continue
				}
				out = append(out, Combo{Shape: s, Kind: kind, Rate: q})
			}
		}
	}
	return out
}

// epoch is when the first run starts; runs are an hour apart, each at its own offset in a bucket.
var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const circuitID = "provider"

// runOne plays one run of one combo for every system.
func runOne(ctx context.Context, cfg Config, cb Combo, shapeIdx, run int) ([]played, error) {
	seed := cfg.Seed*1_000_003 + uint64(shapeIdx)*10_000_019 + uint64(run)
	start := epoch.Add(time.Duration(run) * time.Hour).Add(time.Duration(seed%10_000) * time.Millisecond)
	tr := layout(cb.Shape, seed, start, cb.Kind, cb.Rate)
	evs := events(tr, cfg.Settings.FlushInterval, cfg.Settings.Policy.SlowCall)
	since := start.Add(-cb.Shape.Warm - time.Hour)
	out := make([]played, len(Systems))
	for i, name := range Systems {
		clk := &clock{t: start.Add(-cb.Shape.Warm)}
		var sys system
		switch name {
		case "reference":
			sys = newReference(cfg.Settings.Policy, clk, circuitID, since)
		case "breakerbox":
			f, err := newFleet(ctx, cfg.Settings, clk, tr.envs, circuitID, since, seed)
			if err != nil {
				return nil, err
			}
			sys = f
		case "powertools":
			sys = newPowertools(clk, tr.envs)
		case "cb-lambda":
			sys = newCBLambda(clk)
		}
		out[i] = play(ctx, tr, evs, clk, sys, start)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fleetsim: %w", err)
	}
	return out, nil
}

// Run plays every combo cfg.Runs times and returns the results in combo order.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fleetsim: %w", err)
	}
	combos := cfg.combos()
	shapeIdx := map[string]int{}
	for i, s := range cfg.Shapes {
		shapeIdx[s.Name] = i
	}
	all := make([][][]played, len(combos))
	for i := range all {
		all[i] = make([][]played, cfg.Runs)
	}
	type job struct{ combo, run int }
	jobs := make(chan job)
	workers := cfg.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				cb := combos[j.combo]
				res, err := runOne(ctx, cfg, cb, shapeIdx[cb.Shape.Name], j.run)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					continue
				}
				all[j.combo][j.run] = res
			}
		}()
	}
feed:
	for c := range combos {
		for r := range cfg.Runs {
			select {
			case jobs <- job{c, r}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fleetsim: %w", err)
	}
	return summarize(cfg, combos, all), nil
}
