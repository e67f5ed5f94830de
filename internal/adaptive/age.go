package adaptive

import "time"

// overdueCalls is the fewest calls in flight past [Controller.Overdue] that brake the pool before
// they complete. One or two may be records of their own that hang, or the noise's slow tail; the
// figure is the simulator's (`make sim`, seeds 1-30, 30 s and 70 s providers: 2 and 3 sent more
// batches into an outage, 5 and more did too, 4 did not and held every figure).
const overdueCalls = 4

// overdueFloor is the shortest age that is evidence. A shorter one holds the worker invoke's own
// overhead and the ventilator's scheduling (milliseconds to tens of them), and a provider that
// fast decides on completed rounds within it anyway: with the knee tolerance alone, the 5 ms and
// 200 ms FIFO providers of `make sim` went from concurrency-max 1.17 and 1.19 to 1.44 and 1.27.
// At a second, a 200 ms provider that degrades to 2 s still brakes on the ages of its calls.
const overdueFloor = time.Second

// flight is one worker call in flight: when it was sent, and whether its age already cut the
// limit (a call's age is evidence once).
type flight struct {
	sent    time.Time
	counted bool
}

// Sent notes a worker call sent at at, the moment the call itself starts (after the record's
// dedup claim): its age is what [Pool.Age] reads. A caller that never calls Sent gets no age
// brake.
func (p *Pool) Sent(at time.Time) {
	p.flights = append(p.flights, flight{sent: at})
}

// landed forgets the call in flight sent at sent, or, when none was noted at exactly that time
// (a caller that does not pass back the time it gave Sent), the one sent closest to it. The
// ventilator and the simulator pass the exact time.
func (p *Pool) landed(sent time.Time) {
	best := -1
	var gap time.Duration
	for i, f := range p.flights {
		d := f.sent.Sub(sent)
		if d < 0 {
			d = -d
		}
		if best < 0 || d < gap {
			best, gap = i, d
		}
	}
	if best >= 0 {
		p.flights = append(p.flights[:best], p.flights[best+1:]...)
	}
}

// Age is the brake on calls still in flight, read at now; it reports whether the limit changed.
// [Pool.Done] reads it at every completion, and a caller reads it before it admits a call.
//
// A provider that slows down (or shrinks) under the calls in flight tells nothing through them
// until they complete, minutes later for a provider of 70 s, while every completion in between
// admits another call at a concurrency already too high. But a call in flight will take at least
// its age: its age is a latency sample, a lower bound of its latency. Once at least overdueCalls
// calls have been in flight for longer than the controller's Overdue (the knee tolerance times
// the baseline), the ages of the calls in flight join the calls completed since the latest
// decision as one sample, and the limit follows when the controller cuts on it, as stale calls
// brake (see doneStale). Every call in flight counts, the young ones too: the oldest alone are
// the slowest of a noisy provider, and a cut read from them alone overshoots the knee (tried:
// the 30 s FIFO provider's worst goodput fell from 94.6 % to 91.7 %). Calls sent before a cut are
// left out (the cut answered them), and each call's age counts in one cut at most.
func (p *Pool) Age(now time.Time) bool {
	before := p.Limit()
	p.ageBrake(now)
	return p.Limit() != before
}

// ageBrake is Age without the report.
func (p *Pool) ageBrake(now time.Time) {
	if !p.perCall || p.tripped || len(p.flights) < overdueCalls {
		return
	}
	limit := p.ctl.Overdue(p.state)
	if limit <= 0 {
		return
	}
	var last time.Time
	if len(p.steps) > 0 {
		last = p.steps[len(p.steps)-1].at
	}
	var ages []Result
	var which []int
	overdue := 0
	for i, f := range p.flights {
		if f.counted || p.cut && f.sent.Before(last) {
			continue
		}
		age := now.Sub(f.sent)
		if age > limit {
			overdue++
		}
		ages = append(ages, Result{OK: true, Latency: age})
		which = append(which, i)
	}
	if overdue < overdueCalls {
		return
	}
	sample := Summarize(ages, p.slow)
	if p.round.Calls > 0 {
		sample = p.round.Add(sample)
	}
	sample.Batches = 1
	sample.Pool, sample.Pollers, sample.Budget, sample.StartBudget = p.peak, p.base.Pollers, p.base.Budget, p.base.StartBudget
	if !p.cutOnly(sample, now) {
		return
	}
	for _, i := range which {
		p.flights[i].counted = true
	}
}
