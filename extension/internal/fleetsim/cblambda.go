package fleetsim

import "time"

// cbLambda models the npm package circuitbreaker-lambda (github.com/gunnargrosch/circuitbreaker-lambda,
// src/index.ts) at its defaults: every call reads the circuit item (GetItem; cacheTtlMs 0) before it
// goes out, and writes the whole item back after it (UpdateItem SET of every field, no condition:
// the last writer wins, so concurrent environments overwrite each other's counts). A failure adds
// one to failureCount, which only a close or a minute without failures (windowDuration) resets; a
// success in CLOSED leaves it alone. failureCount ≥ failureThreshold (5) opens the circuit for
// timeout (10 s), doubled per failed half-open up to maxTimeout (60 s); once that has passed, the
// next caller moves it to HALF and every caller goes through; successThreshold (2) successes close
// it and one failure reopens it. A slow answer is a success.
type cbLambda struct {
	clk     *clock
	shared  cbState
	exists  bool
	pending map[int]cbState // each call's copy, loaded by its check
	trip    time.Time

	reads, writes int64
}

const (
	cbThreshold  = 5
	cbSuccesses  = 2
	cbTimeout    = 10 * time.Second
	cbMaxTimeout = 60 * time.Second
	cbWindow     = 60 * time.Second
)

type cbState struct {
	state            string // CLOSED, OPEN, HALF
	failures         int
	successes        int
	nextAttempt      time.Time
	lastFailure      time.Time
	consecutiveOpens int
}

func newCBLambda(clk *clock) *cbLambda {
	return &cbLambda{clk: clk, shared: cbState{state: "CLOSED"}, pending: map[int]cbState{}}
}

func (b *cbLambda) invoke(int) {}
func (b *cbLambda) tick(int)   {}
func (b *cbLambda) done(int)   {}

// pass: it learns of a call only from its outcome.
func (b *cbLambda) pass(int, *call) {}

func (b *cbLambda) acquire(i int, _ *call) bool {
	now := b.clk.Now()
	b.reads++
	s := cbState{state: "CLOSED"}
	if b.exists {
		s = b.shared
	}
	if s.state == "CLOSED" && !s.lastFailure.IsZero() && now.Sub(s.lastFailure) > cbWindow {
		s.failures = 0
	}
	if s.state == "OPEN" {
		if now.Before(s.nextAttempt) {
			return false
		}
		s.state, s.successes = "HALF", 0
		b.save(s)
	}
	b.pending[i] = s
	return true
}

func (b *cbLambda) report(i int, c *call) {
	now := b.clk.Now()
	s := b.pending[i]
	delete(b.pending, i)
	if c.fail {
		s.failures++
		s.lastFailure = now
		if s.state == "HALF" || s.failures >= cbThreshold {
			if s.state == "HALF" {
				s.consecutiveOpens++
			} else {
				s.consecutiveOpens = 0
			}
			s.state = "OPEN"
			s.nextAttempt = now.Add(min(cbTimeout<<s.consecutiveOpens, cbMaxTimeout))
		}
	} else if s.state == "HALF" {
		if s.successes++; s.successes >= cbSuccesses {
			s = cbState{state: "CLOSED", lastFailure: s.lastFailure}
		}
	}
	b.save(s)
}

// save is the unconditional UpdateItem of every field.
func (b *cbLambda) save(s cbState) {
	b.writes++
	if s.state == "OPEN" && b.shared.state != "OPEN" && b.trip.IsZero() {
		b.trip = b.clk.Now()
	}
	b.shared, b.exists = s, true
}

func (b *cbLambda) tripped() (time.Time, string) { return b.trip, "" }
func (b *cbLambda) io() (int64, int64)           { return b.reads, b.writes }
