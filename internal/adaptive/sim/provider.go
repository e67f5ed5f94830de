package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// provider answers the calls of one batch. The ventilator sends a whole batch at once and waits for
// all of it before the next poll, so the provider never sees two batches at the same time: a batch
// can be served on its own, from time 0 of the batch.
type provider struct {
	rng        *rand.Rand
	noise      float64
	timeout    time.Duration
	failFast   time.Duration
	discipline Discipline
	// work and order are scratch space reused between batches.
	work  []float64
	order []int
}

// served is one call's outcome, as the ventilator sees it.
type served struct {
	ok      bool
	latency time.Duration
}

// serve answers n calls sent together during phase ph, writing their outcomes to out (len n).
func (p *provider) serve(ph Phase, out []served) {
	n := len(out)
	p.work = slices.Grow(p.work[:0], n)[:n]
	p.order = p.order[:0]
	for i := range out {
		if ph.Down() || p.rng.Float64() < ph.ErrorRatio {
			out[i] = served{latency: p.timeout}
			if p.rng.Float64() >= ph.HangRatio {
				out[i].latency = min(p.jitter(p.failFast), p.timeout)
			}
			continue
		}
		p.work[i] = p.jitter(ph.Latency).Seconds()
		p.order = append(p.order, i)
	}
	if p.discipline == FIFO {
		p.fifo(ph.Capacity, out)
	} else {
		p.shared(ph.Capacity, out)
	}
}

// jitter multiplies d by a log-normal factor of mean 1.
func (p *provider) jitter(d time.Duration) time.Duration {
	f := math.Exp(p.noise*p.rng.NormFloat64() - p.noise*p.noise/2)
	return time.Duration(float64(d) * f)
}

// shared serves the calls in p.order by processor sharing: with k calls running, each progresses at
// min(1, c/k) of full speed, so they finish in order of work. Calls still running at the timeout fail
// then, and the provider drops them.
func (p *provider) shared(c int, out []served) {
	slices.SortFunc(p.order, func(a, b int) int { return cmpFloat(p.work[a], p.work[b]) })
	timeout := p.timeout.Seconds()
	now, done := 0.0, 0.0 // done: the work every running call has received so far
	for k, i := range p.order {
		running := len(p.order) - k
		speed := min(1, float64(c)/float64(running))
		finish := now + (p.work[i]-done)/speed
		if finish > timeout {
			for _, j := range p.order[k:] {
				out[j] = served{latency: p.timeout}
			}
			return
		}
		now, done = finish, p.work[i]
		out[i] = served{ok: true, latency: seconds(now)}
	}
}

// fifo serves the calls in p.order on c servers in arrival order. A call that has not finished by the
// timeout fails then; one that has not started by then is dropped unstarted.
func (p *provider) fifo(c int, out []served) {
	free := make([]float64, c) // when each server is next free
	timeout := p.timeout.Seconds()
	for _, i := range p.order {
		s := 0
		for j := range free {
			if free[j] < free[s] {
				s = j
			}
		}
		start := free[s]
		finish := start + p.work[i]
		if finish > timeout {
			out[i] = served{latency: p.timeout}
			free[s] = max(start, min(finish, timeout))
			continue
		}
		free[s] = finish
		out[i] = served{ok: true, latency: seconds(finish)}
	}
}

// overCapacity is how long more than c of the calls were in flight, all of them sent at time 0.
func overCapacity(out []served, c int, scratch []time.Duration) time.Duration {
	if len(out) <= c {
		return 0
	}
	scratch = scratch[:0]
	for _, o := range out {
		scratch = append(scratch, o.latency)
	}
	slices.Sort(scratch)
	// More than c calls are in flight until the (c+1)-th longest call returns.
	return scratch[len(scratch)-1-c]
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
