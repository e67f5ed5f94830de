package sim

import (
	"container/heap"
	"time"
)

// eventKind says what happens at an event.
type eventKind int

const (
	// evPoll: the event source mapping polls for a batch.
	evPoll eventKind = iota
	// evDone: the ventilator returns from the batch in flight.
	evDone
	// evWake: the schedule fires.
	evWake
)

// event is something due at a virtual time; seq breaks ties in the order events were scheduled.
type event struct {
	at   time.Duration
	seq  int
	kind eventKind
}

// agenda is the virtual clock: a min-heap of events by time.
type agenda struct {
	events []event
	seq    int
}

func (a *agenda) Len() int { return len(a.events) }
func (a *agenda) Less(i, j int) bool {
	if a.events[i].at != a.events[j].at {
		return a.events[i].at < a.events[j].at
	}
	return a.events[i].seq < a.events[j].seq
}
func (a *agenda) Swap(i, j int) { a.events[i], a.events[j] = a.events[j], a.events[i] }
func (a *agenda) Push(x any)    { a.events = append(a.events, x.(event)) }
func (a *agenda) Pop() any {
	e := a.events[len(a.events)-1]
	a.events = a.events[:len(a.events)-1]
	return e
}

// schedule adds an event of kind k at time at.
func (a *agenda) schedule(at time.Duration, k eventKind) {
	a.seq++
	heap.Push(a, event{at: at, seq: a.seq, kind: k})
}

// next removes and returns the earliest event; ok is false when none is left.
func (a *agenda) next() (event, bool) {
	if len(a.events) == 0 {
		return event{}, false
	}
	return heap.Pop(a).(event), true
}
