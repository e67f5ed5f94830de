package fleetsim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Shape is a traffic shape: how many environments, and how their invocations and calls are laid out.
type Shape struct {
	// Name identifies the shape in the table ("dense", "spread", "sparse", "bursty").
	Name string
	// Envs is the number of warm environments of the fleet.
	Envs int
	// describe says in words what the shape is with so many environments, for the table's legend.
	describe func(envs int) string
	// Warm is the healthy traffic played before the incident starts; Span is the traffic played
	// after it (the measured part).
	Warm, Span time.Duration
	// Window is how long after the incident starts a trip counts for the trip probability.
	Window time.Duration
	// ByReport sets the deadline of a trip the reference made: the end of the invocation that
	// reported the tripping call (sparse traffic: a third consecutive failure trips at once), rather
	// than one cache TTL, one flush interval and one bucket after the reference's trip.
	ByReport bool
	// arrivals lays out the invocations in [from, to): environment, start and number of calls.
	arrivals func(r *rand.Rand, envs int, from, to time.Time) []arrival
}

type arrival struct {
	env   int
	at    time.Time
	calls int
}

// Shapes returns the shapes for a policy whose window is w: the four of issue 12 and the four
// that change shape during the window (issue 19).
func Shapes(w time.Duration) []Shape {
	span := w + 16*time.Second // room for the breaker's allowance after a trip late in the window
	return []Shape{
		{Name: "dense", Envs: 4, describe: func(n int) string {
			return fmt.Sprintf("%d environments, one call each every 0.5–1.5 s (≈ %d calls a window)", n, 60*n)
		},
			Warm: w, Span: span, Window: w, arrivals: dense},
		{Name: "spread", Envs: 150, describe: func(n int) string {
			return fmt.Sprintf("%d environments, 1–3 calls each per window (≈ %d calls a window)", n, 2*n)
		},
			Warm: w, Span: span, Window: w, arrivals: spread(w)},
		{Name: "sparse", Envs: 1, describe: func(n int) string {
			return fmt.Sprintf("one call every 2 minutes, served by %d warm environment(s)", n)
		},
			Warm: 4 * time.Minute, Span: 12 * time.Minute, Window: 12 * time.Minute, ByReport: true, arrivals: sparse},
		{Name: "bursty", Envs: 60, describe: func(n int) string {
			return fmt.Sprintf("%d environments, a 2 s burst every 20 s, 1–2 calls per environment per burst (≈ %d calls a window)", n, 9*n/2)
		},
			Warm: w, Span: span, Window: w, arrivals: bursty},
		{Name: "fanout", Envs: 201, describe: func(n int) string {
			return fmt.Sprintf("one environment calls once a second; at the incident %d new environments start together, one call each, never again", n-1)
		},
			Warm: w, Span: span, Window: w, arrivals: fanout(w)},
		{Name: "cold", Envs: 400, describe: func(n int) string {
			return "about 3 calls a second, every invocation on a new environment (scale-out), " + strconv.Itoa(n) + " at most"
		},
			Warm: 30 * time.Second, Span: span, Window: w, arrivals: cold},
		{Name: "scalein", Envs: 20, describe: func(n int) string {
			return fmt.Sprintf("%d environments, one call each every 1–3 s; from the incident on one leaves every %s until 2 are left (≈ 10 → 1 call/s)", n, w/time.Duration(n))
		},
			Warm: w, Span: span, Window: w, arrivals: scalein(w)},
		{Name: "diurnal", Envs: 30, describe: func(n int) string {
			return fmt.Sprintf("%d environments, the fleet's calls ramp from 0.5 to 8 a second over the run", n)
		},
			Warm: w, Span: span, Window: w, arrivals: diurnal},
	}
}

// fanout is the burst: a quiet environment (0) calls once a second throughout; at the
// incident's start (within 2 s) every other environment is invoked once, all within half a second,
// one call each, and never again.
func fanout(w time.Duration) func(r *rand.Rand, envs int, from, to time.Time) []arrival {
	return func(r *rand.Rand, envs int, from, to time.Time) []arrival {
		var out []arrival
		for t := from.Add(uniform(r, 0, time.Second)); t.Before(to); t = t.Add(uniform(r, 900*time.Millisecond, 1100*time.Millisecond)) {
			out = append(out, arrival{env: 0, at: t, calls: 1})
		}
		burst := from.Add(w).Add(uniform(r, 0, 2*time.Second)) // the incident starts a window after from
		for e := 1; e < envs; e++ {
			out = append(out, arrival{env: e, at: burst.Add(uniform(r, 0, 500*time.Millisecond)), calls: 1})
		}
		return out
	}
}

// cold lays out about 3 invocations a second, each on an environment never used before (a fleet
// scaling out, or a function whose environments are recycled between calls).
func cold(r *rand.Rand, envs int, from, to time.Time) []arrival {
	var out []arrival
	e := 0
	for t := from.Add(exp(r, 3)); t.Before(to) && e < envs; t = t.Add(exp(r, 3)) {
		out = append(out, arrival{env: e, at: t, calls: 1})
		e++
	}
	return out
}

// scalein: every environment calls once every 1–3 s; from the window's start on, one leaves every
// w/envs until two are left.
func scalein(w time.Duration) func(r *rand.Rand, envs int, from, to time.Time) []arrival {
	return func(r *rand.Rand, envs int, from, to time.Time) []arrival {
		var out []arrival
		start := from.Add(w) // the incident starts a window after from
		for e := 0; e < envs; e++ {
			stop := to
			if e < envs-2 {
				stop = start.Add(w * time.Duration(e+1) / time.Duration(envs))
			}
			for t := from.Add(uniform(r, 0, 2*time.Second)); t.Before(stop); t = t.Add(uniform(r, time.Second, 3*time.Second)) {
				out = append(out, arrival{env: e, at: t, calls: 1})
			}
		}
		return out
	}
}

// diurnal ramps the fleet's calls from 0.5 to 8 a second over [from, to), each invocation on an
// environment drawn at random (one invocation at a time per environment).
func diurnal(r *rand.Rand, envs int, from, to time.Time) []arrival {
	const lo, hi = 0.5, 8.0
	var out []arrival
	span := to.Sub(from).Seconds()
	for t := from.Add(exp(r, hi)); t.Before(to); t = t.Add(exp(r, hi)) {
		rate := lo + (hi-lo)*t.Sub(from).Seconds()/span
		if r.Float64() < rate/hi {
			out = append(out, arrival{env: r.IntN(envs), at: t, calls: 1})
		}
	}
	return out
}

// exp draws an exponential gap for a Poisson process of perSecond arrivals, in whole milliseconds.
func exp(r *rand.Rand, perSecond float64) time.Duration {
	return max(time.Duration(r.ExpFloat64()/perSecond*float64(time.Second)).Truncate(time.Millisecond), time.Millisecond)
}

// Describe says in words what the shape is.
func (s Shape) Describe() string { return s.describe(s.Envs) }

// ShapeByName finds a shape.
func ShapeByName(shapes []Shape, name string) (Shape, error) {
	for _, s := range shapes {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(shapes))
	for i, s := range shapes {
		names[i] = s.Name
	}
	return Shape{}, fmt.Errorf("unknown traffic shape %q: want one of %v", name, names)
}

func dense(r *rand.Rand, envs int, from, to time.Time) []arrival {
	var out []arrival
	for e := 0; e < envs; e++ {
		for t := from.Add(uniform(r, 0, time.Second)); t.Before(to); t = t.Add(uniform(r, 500*time.Millisecond, 1500*time.Millisecond)) {
			out = append(out, arrival{env: e, at: t, calls: 1})
		}
	}
	return out
}

func spread(w time.Duration) func(r *rand.Rand, envs int, from, to time.Time) []arrival {
	return func(r *rand.Rand, envs int, from, to time.Time) []arrival {
		var out []arrival
		for start := from; start.Before(to); start = start.Add(w) {
			for e := 0; e < envs; e++ {
				for range 1 + r.IntN(3) {
					if t := start.Add(uniform(r, 0, w)); t.Before(to) {
						out = append(out, arrival{env: e, at: t, calls: 1})
					}
				}
			}
		}
		return out
	}
}

func sparse(r *rand.Rand, envs int, from, to time.Time) []arrival {
	var out []arrival
	for t := from.Add(uniform(r, 0, time.Second)); t.Before(to); t = t.Add(2 * time.Minute) {
		out = append(out, arrival{env: r.IntN(envs), at: t, calls: 1})
	}
	return out
}

func bursty(r *rand.Rand, envs int, from, to time.Time) []arrival {
	var out []arrival
	for b := from.Add(uniform(r, 0, 20*time.Second)); b.Before(to); b = b.Add(20 * time.Second) {
		for e := 0; e < envs; e++ {
			if t := b.Add(uniform(r, 0, 2*time.Second)); t.Before(to) {
				out = append(out, arrival{env: e, at: t, calls: 1 + r.IntN(2)})
			}
		}
	}
	return out
}

// uniform draws a duration in [lo, hi), in whole milliseconds.
func uniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(r.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

// Kind is what the provider does wrong at the true rate: fail calls, or answer them slowly.
type Kind string

// The two kinds of incident.
const (
	Failures Kind = "fail"
	Slow     Kind = "slow"
)

// call is one downstream call, drawn before any system sees it.
type call struct {
	env      int
	inv      int
	at       time.Time // when the caller asks may I call
	latency  time.Duration
	fail     bool
	slow     bool
	incident bool // made after the incident started
}

// invocation is one invocation of one environment: it starts, makes its calls one after the other
// and ends; the environment is frozen until its next invocation.
type invocation struct {
	env        int
	start, end time.Time
	calls      []int
}

// traffic is one run's calls and invocations, over envs environments: the shape's, and the ones
// Lambda started when an invocation found its environment busy (scaleOut).
type traffic struct {
	calls []call
	invs  []invocation
	envs  int
}

// draws are one call's random numbers, drawn whatever the rate, so that runs at different rates
// share them (common random numbers): a call that fails at 25 % also fails at 45 %.
type draws struct{ u, base, slowFor float64 }

// layout draws one run's traffic: healthy from start-warm, the incident (kind at rate q) from start.
func layout(s Shape, seed uint64, start time.Time, kind Kind, q float64) traffic {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	arr := s.arrivals(r, s.Envs, start.Add(-s.Warm), start.Add(s.Span))
	slices.SortFunc(arr, func(a, b arrival) int { // a total order: the same layout on every machine
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.env != b.env {
			return cmp.Compare(a.env, b.env)
		}
		return cmp.Compare(a.calls, b.calls)
	})
	var tr traffic
	free := make([]time.Time, s.Envs) // when each environment may take its next invocation
	used := make([]bool, s.Envs)
	for _, a := range arr {
		env := a.env
		if a.at.Before(free[env]) { // busy: Lambda routes the invocation elsewhere
			env = scaleOut(a.at, free, used)
			if env == len(free) {
				free, used = append(free, time.Time{}), append(used, false)
			}
		}
		used[env] = true
		inv := invocation{env: env, start: a.at}
		t := inv.start.Add(time.Millisecond)
		for range a.calls {
			d := draws{u: r.Float64(), base: r.Float64(), slowFor: r.Float64()}
			c := call{env: env, inv: len(tr.invs), at: t, incident: !t.Before(start)}
			c.latency = 20*time.Millisecond + time.Duration(d.base*100)*time.Millisecond
			if c.incident && d.u < q {
				switch kind {
				case Failures:
					c.fail = true
				case Slow:
					c.slow = true
					c.latency = 1200*time.Millisecond + time.Duration(d.slowFor*1800)*time.Millisecond
				}
			}
			inv.calls = append(inv.calls, len(tr.calls))
			tr.calls = append(tr.calls, c)
			t = t.Add(c.latency + time.Millisecond)
		}
		inv.end = t
		free[env] = t.Add(time.Millisecond)
		tr.invs = append(tr.invs, inv)
	}
	tr.envs = len(free)
	return tr
}

// scaleOut picks the environment that takes an invocation arriving at at while the one the shape
// meant is still busy with its last invocation: an environment serves one invocation at a time, and
// Lambda sends a request that finds its environments busy to another one, starting a new one when
// none is free ("Understanding Lambda function scaling", Lambda developer guide). The lowest
// numbered environment that has run and is free takes it; otherwise a new one, numbered after the
// others (len(free)), which the caller adds. Before, the invocation waited for its environment, so a
// provider's slow calls slowed the fleet's calls down (fanout's quiet environment made one call
// every 2.1 s instead of every second at 100 % slow calls).
func scaleOut(at time.Time, free []time.Time, used []bool) int {
	for e := range free {
		if used[e] && !at.Before(free[e]) {
			return e
		}
	}
	return len(free)
}
