package fleetsim

import (
	"sync"
	"time"
)

// clock is a virtual wall clock: it reads what the simulation last set. It is safe for concurrent
// use: a cache read whose caller gave up (its context ended, at an interrupt) goes on in its own
// goroutine and reads the clock while the simulation moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the virtual time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// set moves the virtual time to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// lockedRand is a rand.Float64 safe for concurrent use, for the same reason.
type lockedRand struct {
	mu sync.Mutex
	f  func() float64
}

func (r *lockedRand) Float64() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f()
}
