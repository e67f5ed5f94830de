package fleetsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
	"github.com/breakerbox/breakerbox/internal/store/memstore"
)

// Settings are the extension's settings the fleet runs with (defaults: DESIGN.md's).
type Settings struct {
	// Policy is every environment's policy (BREAKERBOX_FAILURE_RATE and the other knobs).
	Policy circuit.Policy
	// CacheTTL and StaleTTL are the circuit cache's (BREAKERBOX_CACHE_TTL, BREAKERBOX_STALE_TTL);
	// the cache TTL also bounds how long a window read is reused.
	CacheTTL, StaleTTL time.Duration
	// FlushInterval is BREAKERBOX_FLUSH_INTERVAL.
	FlushInterval time.Duration
	// Shards is BREAKERBOX_COUNTER_SHARDS; each environment writes to one, drawn at random.
	Shards int
}

// DefaultSettings are the extension's defaults.
func DefaultSettings() Settings {
	return Settings{Policy: circuit.DefaultPolicy(), CacheTTL: 5 * time.Second, StaleTTL: 10 * time.Minute,
		FlushInterval: time.Second, Shards: 4}
}

// watched is the memory store with an eye on the circuit writes, to see when the circuit opens,
// and on the counter writes, to see how many one environment makes per flush interval.
type watched struct {
	*memstore.Store
	clk  *clock
	trip time.Time
	why  string
	// interval is the flush interval; recent holds each writer's counter writes (instants: a write
	// is one ADD per bucket its calls fall in, made at once) of the last interval, and burst the
	// most seen within one interval.
	interval time.Duration
	recent   map[string][]time.Time
	burst    int
}

// AddCounts is the store's AddCounts, counting the writer's writes within a flush interval (a
// half-open span: two writes an interval apart are in two intervals).
func (w *watched) AddCounts(ctx context.Context, cw store.CountsWrite, p circuit.Policy) error {
	now := w.clk.Now()
	ts := w.recent[cw.Writer]
	if n := len(ts); n == 0 || !ts[n-1].Equal(now) {
		kept := ts[:0]
		for _, t := range ts {
			if now.Sub(t) < w.interval {
				kept = append(kept, t)
			}
		}
		ts = append(kept, now)
		w.recent[cw.Writer] = ts
		w.burst = max(w.burst, len(ts))
	}
	return w.Store.AddCounts(ctx, cw, p)
}

// Update is the store's Update, noting the first transition to OPEN.
func (w *watched) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	r, err := w.Store.Update(ctx, id, decide)
	if err == nil && r.Transition.To == string(circuit.Open) && w.trip.IsZero() {
		w.trip, w.why = w.clk.Now(), r.Transition.Reason
	}
	return r, err
}

// fleet is breakerbox: one real Breaker (with its own cache) per environment, all on one store.
type fleet struct {
	ctx     context.Context
	id      string
	st      *watched
	envs    []*breaker.Breaker
	permits map[int]string
	calls   map[int]string // the name each call's acquire gave it (breaker.Decision.Call)
}

func newFleet(ctx context.Context, set Settings, clk *clock, envs int, id string, since time.Time, seed uint64) (*fleet, error) {
	ms := memstore.New(memstore.Options{Now: clk.Now})
	// The circuit exists, CLOSED, as it would in a deployment that has run for a while; creating it
	// is not counted.
	if err := ms.Put(ctx, circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: since, Reason: "existing", UpdatedAt: since}); err != nil {
		return nil, fmt.Errorf("fleetsim: create circuit: %w", err)
	}
	f := &fleet{ctx: ctx, id: id, st: &watched{Store: ms, clk: clk, interval: set.FlushInterval, recent: map[string][]time.Time{}},
		permits: map[int]string{}, calls: map[int]string{}}
	r := rand.New(rand.NewPCG(seed, 7))
	jitter := &lockedRand{f: r.Float64} // the same draws; the cache's may come from a read left running
	n := 0
	for e := range envs {
		c, err := cache.New(f.st, cache.Options{TTL: set.CacheTTL, StaleTTL: set.StaleTTL, Size: 8, Now: clk.Now, Rand: jitter.Float64})
		if err != nil {
			return nil, fmt.Errorf("fleetsim: %w", err)
		}
		b, err := breaker.New(f.st, c, breaker.Options{
			Policy: set.Policy, FailOpen: true, Shards: set.Shards, Shard: r.IntN(set.Shards), Writer: "env" + strconv.Itoa(e),
			WindowTTL: set.CacheTTL, FlushInterval: set.FlushInterval, Now: clk.Now,
			NewPermit: func() string { n++; return "e" + strconv.Itoa(e) + "p" + strconv.Itoa(n) },
		})
		if err != nil {
			return nil, fmt.Errorf("fleetsim: %w", err)
		}
		f.envs = append(f.envs, b)
	}
	f.st.reset()
	return f, nil
}

// invoke is the extension's INVOKE event: the lifecycle tells the breaker, asks for the next event
// at once, and its background flusher writes what is due (extension/internal/lifecycle).
func (f *fleet) invoke(env int) {
	f.envs[env].Invoked()
	_ = f.envs[env].FlushIfDue(f.ctx)
}

// tick is the extension's flush timer, running while the environment is thawed.
func (f *fleet) tick(env int) { _ = f.envs[env].FlushIfDue(f.ctx) }

// done is the runtime's answer: the extension does nothing then (it asked for its next event on
// INVOKE); what the invocation put at stake was written by its report.
func (f *fleet) done(int) {}

func (f *fleet) acquire(i int, c *call) bool {
	d := f.envs[c.env].Acquire(f.ctx, f.id)
	if d.Permit != "" {
		f.permits[i] = d.Permit
	}
	if d.Call != "" {
		f.calls[i] = d.Call
	}
	return d.Allowed
}

// pass: the breaker keeps the calls under way itself and counts a slow one at its next flush.
func (f *fleet) pass(int, *call) {}

func (f *fleet) report(i int, c *call) {
	b := f.envs[c.env]
	b.Report(f.ctx, f.id, []breaker.Outcome{{OK: !c.fail, Latency: c.latency, Permit: f.permits[i], Call: f.calls[i]}})
	delete(f.permits, i)
	delete(f.calls, i)
	// The default model's report path (extension/internal/server/report.go): what is at stake
	// and due is written in the report call (a marked circuit's calls without the answer waiting
	// for them, which on this virtual clock is the same instant).
	_ = b.WriteIfDue(f.ctx, f.id)
}

func (f *fleet) tripped() (time.Time, string) { return f.st.trip, f.st.why }

func (f *fleet) io() (int64, int64) {
	s := f.st.Stats()
	return s.Reads, s.Writes
}

// perInterval is the most counter writes one environment made within one flush interval.
func (f *fleet) perInterval() int { return f.st.burst }

// reset forgets the calls made while setting the fleet up.
func (w *watched) reset() { w.Store.ResetStats() }
