package fleetsim

import "time"

// clock is a virtual wall clock: it reads what the simulation last set.
type clock struct{ t time.Time }

// Now returns the virtual time.
func (c *clock) Now() time.Time { return c.t }
