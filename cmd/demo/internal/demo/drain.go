package demo

import (
	"context"
	"time"
)

// drainCap bounds the whole drain to this many times cfg.Drain, however steady the progress.
const drainCap = 10

// progress follows the drain: it ends the wait when no record has finished for idle, or when the
// whole wait has reached most. A loaded machine (other builds and tests beside the demo) works the
// backlog off slowly but steadily; a fixed bound would call those records lost.
type progress struct {
	idle, most time.Duration
	start      time.Time
	last       time.Time
	finished   int
}

func newProgress(now time.Time, idle time.Duration) *progress {
	return &progress{idle: idle, most: drainCap * idle, start: now, last: now, finished: -1}
}

// note records how many records have finished (succeeded or dead-lettered) at now, and says why the
// wait is over ("" while it goes on).
func (p *progress) note(now time.Time, finished int) string {
	if finished > p.finished {
		p.finished, p.last = finished, now
	}
	switch {
	case now.Sub(p.start) >= p.most:
		return "the backlog did not drain within " + p.most.String() + " (10 × -drain)"
	case now.Sub(p.last) >= p.idle:
		return "no record finished for " + p.idle.String() + " (-drain): the backlog stopped draining"
	}
	return ""
}

// drain waits until every fed record succeeded or is in the dead-letter queue, for as long as the
// backlog keeps shrinking (see progress), and reports whether ctx ended first.
func (r *run) drain(ctx context.Context) bool {
	p := newProgress(time.Now(), r.cfg.Drain)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if s, ok := r.rec.Last(); ok {
			succeeded := r.provider.Successes()
			pending := 0
			for _, id := range r.feeder.IDs() {
				if succeeded[id] == 0 {
					pending++
				}
			}
			if pending <= s.DLQ {
				r.out.Line("  ── done: every record succeeded or is in the dead-letter queue ──")
				return false
			}
			if why := p.note(time.Now(), len(r.feeder.IDs())-pending+s.DLQ); why != "" {
				r.out.Line("  ── %s ──", why)
				return false
			}
		} else if why := p.note(time.Now(), 0); why != "" {
			r.out.Line("  ── %s ──", why)
			return false
		}
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
		}
	}
}
