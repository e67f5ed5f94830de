package fleetsim

import "time"

// powertools models the circuit breaker of Powertools for AWS Lambda (Python, circuit_breaker_alpha,
// docs.aws.amazon.com/powertools/python/latest/utilities/circuit_breaker/) at its documented
// defaults: each environment counts consecutive failures in memory (failure_threshold 5, a success
// resets the count); only transitions are written, with a conditional write; the state is cached in
// each environment for local_cache_max_age (5 s) and read through on expiry; OPEN lasts
// recovery_timeout (30 s), then one half-open probe fleet-wide is elected by a conditional write, and
// success_threshold (3) successful probes close the circuit while a failed one reopens it. It has
// no notion of a slow call: a slow answer is a success.
type powertools struct {
	clk    *clock
	shared ptState
	envs   []ptEnv
	probe  map[int]bool // calls made under the probe lock
	trip   time.Time

	reads, writes int64
}

const (
	ptThreshold = 5
	ptRecovery  = 30 * time.Second
	ptSuccesses = 3
	ptCacheAge  = 5 * time.Second
)

type ptState struct {
	state     string // CLOSED, OPEN, HALF_OPEN
	openedAt  time.Time
	owner     int // environment holding the half-open probe, -1 for none
	successes int
	version   int
}

type ptEnv struct {
	cached   ptState
	cachedAt time.Time
	fresh    bool
	consec   int
}

func newPowertools(clk *clock, envs int) *powertools {
	p := &powertools{clk: clk, shared: ptState{state: "CLOSED", owner: -1}, envs: make([]ptEnv, envs), probe: map[int]bool{}}
	return p
}

func (p *powertools) invoke(int) {}
func (p *powertools) tick(int)   {}
func (p *powertools) done(int)   {}

// pass: it learns of a call only from its outcome.
func (p *powertools) pass(int, *call) {}

// read is the environment's view of the state: its cached copy, read through when older than 5 s.
func (p *powertools) read(env int) ptState {
	e := &p.envs[env]
	now := p.clk.Now()
	if !e.fresh || now.Sub(e.cachedAt) >= ptCacheAge {
		p.reads++
		e.cached, e.cachedAt, e.fresh = p.shared, now, true
	}
	return e.cached
}

// write is a conditional write on the version env last saw; it fails if another environment wrote
// since. Either way it is billed, and the environment's cache holds the stored item afterwards.
func (p *powertools) write(env int, seen ptState, next ptState) bool {
	p.writes++
	e := &p.envs[env]
	if p.shared.version != seen.version {
		e.cached, e.cachedAt, e.fresh = p.shared, p.clk.Now(), true
		return false
	}
	next.version = seen.version + 1
	p.shared = next
	e.cached, e.cachedAt, e.fresh = next, p.clk.Now(), true
	if next.state == "OPEN" && p.trip.IsZero() {
		p.trip = p.clk.Now()
	}
	return true
}

func (p *powertools) acquire(i int, c *call) bool {
	s := p.read(c.env)
	now := p.clk.Now()
	switch s.state {
	case "CLOSED":
		return true
	case "OPEN":
		if now.Sub(s.openedAt) < ptRecovery {
			return false
		}
		next := s
		next.state, next.owner, next.successes = "HALF_OPEN", c.env, 0
		if p.write(c.env, s, next) {
			p.probe[i] = true
			return true
		}
		return false
	default: // HALF_OPEN: only a free probe lock can be taken
		if s.owner >= 0 {
			return false
		}
		next := s
		next.owner = c.env
		if p.write(c.env, s, next) {
			p.probe[i] = true
			return true
		}
		return false
	}
}

func (p *powertools) report(i int, c *call) {
	e := &p.envs[c.env]
	if p.probe[i] {
		delete(p.probe, i)
		s := p.shared // the lock holder writes on the item it holds
		next := s
		next.owner = -1
		if c.fail {
			next.state, next.openedAt = "OPEN", p.clk.Now()
		} else if next.successes++; next.successes >= ptSuccesses {
			next.state, next.successes = "CLOSED", 0
		}
		p.write(c.env, s, next)
		e.consec = 0
		return
	}
	if !c.fail {
		e.consec = 0
		return
	}
	e.consec++
	if e.consec < ptThreshold {
		return
	}
	e.consec = 0
	s := p.read(c.env)
	if s.state == "CLOSED" {
		next := s
		next.state, next.openedAt, next.owner = "OPEN", p.clk.Now(), -1
		p.write(c.env, s, next)
	}
}

func (p *powertools) tripped() (time.Time, string) { return p.trip, "" }
func (p *powertools) io() (int64, int64)           { return p.reads, p.writes }
