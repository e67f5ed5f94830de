package sim

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// Provider names one simulated provider, its healthy base latency and its discipline, and how the
// ventilator reads its records: the event source, and on Kinesis how many ventilators run at once.
type Provider struct {
	Base       time.Duration
	Discipline Discipline
	Source     Source
	// Pollers is Scenario.Pollers on Kinesis (shards times the parallelization factor); 0 keeps
	// the default scenario's 1.
	Pollers int
}

// String is "200ms shared" and the like, "200ms shared sqs" on SQS, "200ms shared x2" on Kinesis
// with 2 pollers.
func (p Provider) String() string {
	s := p.Base.String() + " " + p.Discipline.String()
	switch {
	case p.Source == SQS:
		s += " sqs"
	case p.Pollers > 1:
		s += " x" + strconv.Itoa(p.Pollers)
	}
	return s
}

// Fit makes cfg one the ventilator accepts for p's event source: MIN_CONCURRENCY at least the
// pollers on Kinesis (each keeps a call in flight; the ventilator says so on every batch
// otherwise) and at least 2 on SQS (its start-up check).
func (p Provider) Fit(cfg adaptive.Config) adaptive.Config {
	least := max(p.Pollers, 1)
	if p.Source == SQS {
		least = adaptive.SQSMinMaximumConcurrency
	}
	cfg.MinConcurrency = max(cfg.MinConcurrency, least)
	cfg.InitialConcurrency = max(cfg.InitialConcurrency, cfg.MinConcurrency)
	return cfg
}

// Scenario is the default scenario of p's base latency and discipline, with its source and pollers.
func (p Provider) Scenario() Scenario {
	sc := DefaultScenario(p.Base, p.Discipline)
	sc.Source = p.Source
	if p.Pollers > 0 {
		sc.Pollers = p.Pollers
	}
	return sc
}

// Sweep plays policy over every provider and every seed in seeds, each run twice (with the poison
// records of the default scenario and without, for the poison drop), on up to GOMAXPROCS
// goroutines, and returns one Summary per provider (in the order of providers) and one over all.
// cfg is turned into each provider's configuration by configFor.
func Sweep(policy string, providers []Provider, seeds []uint64, configFor func(base time.Duration) adaptive.Config) ([]*Summary, *Summary, error) {
	per, all, _, err := SweepRows(policy, providers, seeds, configFor, nil)
	return per, all, err
}

// SeedRows are the rows of one run of a sweep (the run with poison records, the one the summary's
// figures other than the poison drop come from): one provider, one seed.
type SeedRows struct {
	Provider Provider
	Seed     uint64
	Rows     []Row
}

// SweepRows is Sweep that also returns the rows of every run whose provider keep accepts (none
// when keep is nil), ordered by provider (in the order of providers) and then by seed (in the
// order of seeds), so that a seed that sets a worst figure can be read without a run of its own.
func SweepRows(policy string, providers []Provider, seeds []uint64, configFor func(base time.Duration) adaptive.Config, keep func(Provider) bool) ([]*Summary, *Summary, []SeedRows, error) {
	type job struct{ p, seed int }
	type result struct {
		p, seed       int
		rows          []Row
		with, without Outcome
		err           error
	}
	jobs := make(chan job)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				pr := providers[j.p]
				res := result{p: j.p, seed: j.seed}
				ps, err := NewPolicies(pr.Fit(configFor(pr.Base)), policy)
				if err != nil {
					res.err = err
					results <- res
					continue
				}
				sc := pr.Scenario()
				sc.Seed = seeds[j.seed]
				outs, err := Run(sc, ps)
				if err == nil {
					res.with, res.rows = outs[0], Rows(sc, outs)
					clean := sc
					clean.PoisonEvery = 0
					outs, err = Run(clean, ps)
					if err == nil {
						res.without = outs[0]
					}
				}
				res.err = err
				results <- res
			}
		}()
	}
	go func() {
		for p := range providers {
			for s := range seeds {
				jobs <- job{p, s}
			}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	per := make([]*Summary, len(providers))
	for i := range per {
		per[i] = NewSummary(policy)
	}
	all := NewSummary(policy)
	kept := map[[2]int][]Row{}
	var firstErr error
	for res := range results {
		if res.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("sim: sweep %s: %w", providers[res.p], res.err)
			}
			continue
		}
		for _, s := range []*Summary{per[res.p], all} {
			s.Add(res.rows, res.with)
			s.AddPoison(res.with, res.without, measuredPhases)
		}
		if keep != nil && keep(providers[res.p]) {
			kept[[2]int{res.p, res.seed}] = res.rows
		}
	}
	var rows []SeedRows
	for p := range providers {
		for s := range seeds {
			if r, ok := kept[[2]int{p, s}]; ok {
				rows = append(rows, SeedRows{Provider: providers[p], Seed: seeds[s], Rows: r})
			}
		}
	}
	return per, all, rows, firstErr
}

// measuredPhases is how many of the default scenario's first phases the poison drop compares
// (healthy and degraded: the recovered phase's goodput depends on when the circuit closes).
const measuredPhases = 2
