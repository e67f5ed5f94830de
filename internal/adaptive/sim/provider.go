package sim

import (
	"container/heap"
	"math"
	"time"
)

// provider serves the calls in flight under its discipline, as they come and go. It tells the
// runner when its next call completes through an evProvider event carrying its version; any change
// (a call admitted or dropped, a new capacity) bumps the version, so older events are ignored.
type provider struct {
	disc     Discipline
	capacity int
	clock    *agenda
	ver      uint64
	// in is where each call stands with the provider, by call id.
	in []standing
	// Shared: every call in service has received v seconds of service so far; n calls are in
	// service, each progressing at min(1, capacity/n); a call finishes when v reaches its key.
	v    float64
	last time.Duration
	n    int
	// FIFO and Limited: busy servers, with calls ending at their key (seconds); FIFO's queue.
	busy      int
	queue     []int
	queueWork []float64
	// pending holds the calls in service by key: finishing v (Shared) or time (FIFO, Limited).
	pending keyed
}

// standing is where a call stands with the provider.
type standing uint8

const (
	out standing = iota // not with the provider (answered, dropped, or never admitted)
	serving
	queued
)

func newProvider(d Discipline, clock *agenda) *provider {
	return &provider{disc: d, clock: clock}
}

// admit hands call id, needing work seconds of service, to the provider at now. It returns false
// when the provider refuses it (Limited, at capacity).
func (p *provider) admit(now time.Duration, id int, work float64) bool {
	for len(p.in) <= id {
		p.in = append(p.in, out)
	}
	switch p.disc {
	case Shared:
		p.advance(now)
		p.in[id] = serving
		p.n++
		heap.Push(&p.pending, item{key: p.v + work, id: id})
	case FIFO:
		if p.busy < p.capacity {
			p.start(now, id, work)
		} else {
			p.in[id] = queued
			p.queue = append(p.queue, id)
			p.queueWork = append(p.queueWork, work)
		}
	case Limited:
		if p.busy >= p.capacity {
			return false
		}
		p.start(now, id, work)
	}
	p.reschedule(now)
	return true
}

// drop takes call id away from the provider at now (the caller gave up on it).
func (p *provider) drop(now time.Duration, id int) {
	if id >= len(p.in) || p.in[id] == out {
		return
	}
	if p.disc == Shared {
		p.advance(now)
		p.n--
	} else if p.in[id] == serving {
		p.busy--
	}
	p.in[id] = out
	p.fill(now)
	p.reschedule(now)
}

// complete returns the calls done by now (for an evProvider event of the current version), appending
// them to done.
func (p *provider) complete(now time.Duration, done []int) []int {
	if p.disc == Shared {
		p.advance(now)
	}
	limit := now.Seconds()
	if p.disc == Shared {
		limit = p.v
	}
	for p.pending.Len() > 0 {
		top := p.pending.items[0]
		if p.in[top.id] != serving {
			heap.Pop(&p.pending) // dropped earlier
			continue
		}
		if top.key > limit+1e-9 {
			break
		}
		heap.Pop(&p.pending)
		p.in[top.id] = out
		if p.disc == Shared {
			p.n--
		} else {
			p.busy--
		}
		done = append(done, top.id)
	}
	p.fill(now)
	p.reschedule(now)
	return done
}

// setCapacity changes the provider's capacity at now (a new phase).
func (p *provider) setCapacity(now time.Duration, c int) {
	if p.disc == Shared {
		p.advance(now)
	}
	p.capacity = c
	p.fill(now)
	p.reschedule(now)
}

// start puts call id in service on a free server (FIFO, Limited).
func (p *provider) start(now time.Duration, id int, work float64) {
	p.in[id] = serving
	p.busy++
	heap.Push(&p.pending, item{key: now.Seconds() + work, id: id})
}

// fill starts queued calls while servers are free (FIFO).
func (p *provider) fill(now time.Duration) {
	for p.disc == FIFO && p.busy < p.capacity && len(p.queue) > 0 {
		id, work := p.queue[0], p.queueWork[0]
		p.queue, p.queueWork = p.queue[1:], p.queueWork[1:]
		if p.in[id] == queued {
			p.start(now, id, work)
		}
	}
}

// advance moves the shared virtual service on to now.
func (p *provider) advance(now time.Duration) {
	if p.n > 0 && p.capacity > 0 {
		p.v += (now - p.last).Seconds() * min(1, float64(p.capacity)/float64(p.n))
	}
	p.last = now
}

// reschedule plans the next completion.
func (p *provider) reschedule(now time.Duration) {
	p.ver++
	for p.pending.Len() > 0 && p.in[p.pending.items[0].id] != serving {
		heap.Pop(&p.pending)
	}
	if p.pending.Len() == 0 {
		return
	}
	key := p.pending.items[0].key
	var at time.Duration
	if p.disc == Shared {
		if p.capacity <= 0 {
			return // nothing progresses until the capacity comes back
		}
		rate := min(1, float64(p.capacity)/float64(p.n))
		at = now + seconds(math.Max(0, key-p.v)/rate)
	} else {
		at = max(now, seconds(key))
	}
	p.clock.schedule(at, evProvider, 0, p.ver)
}

// item is a call and its key in a keyed heap.
type item struct {
	key float64
	id  int
}

// keyed is a min-heap of items by key.
type keyed struct{ items []item }

func (h *keyed) Len() int           { return len(h.items) }
func (h *keyed) Less(i, j int) bool { return h.items[i].key < h.items[j].key }
func (h *keyed) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *keyed) Push(x any)         { h.items = append(h.items, x.(item)) }
func (h *keyed) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
