package sim

import (
	"container/heap"
	"time"
)

// eventKind says what happens at an event.
type eventKind uint8

const (
	// evPoll: the event source mapping delivers a batch to poller who.
	evPoll eventKind = iota
	// evAnswer: call who is answered (fails fast, hangs until the timeout, or is refused).
	evAnswer
	// evProvider: the provider's next completion, valid while its version is the provider's.
	evProvider
	// evTimeout: call who reaches the ventilator's timeout.
	evTimeout
	// evPhase: a phase begins.
	evPhase
	// evCheck: the checker probes the provider.
	evCheck
	// evWake: a wake-up; who is a wakeKind.
	evWake
)

// wakeKind is what woke the ventilator, as the handler's triggers name it.
type wakeKind = int

const (
	// wakeEvent: the circuit's Circuit State Change event (TriggerEvent).
	wakeEvent wakeKind = iota
	// wakeBackstop: the rate(10 minutes) schedule (TriggerSchedule).
	wakeBackstop
	// wakeSelf: the ventilator's own rate(1 minute) schedule (TriggerSelf).
	wakeSelf
)

// event is something due at a virtual time; seq breaks ties in the order events were scheduled.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	who  int
	ver  uint64
}

// agenda is the virtual clock: a min-heap of events by time.
type agenda struct {
	events []event
	seq    uint64
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

// schedule adds an event.
func (a *agenda) schedule(at time.Duration, k eventKind, who int, ver uint64) {
	a.seq++
	heap.Push(a, event{at: at, seq: a.seq, kind: k, who: who, ver: ver})
}

// next removes and returns the earliest event; ok is false when none is left.
func (a *agenda) next() (event, bool) {
	if len(a.events) == 0 {
		return event{}, false
	}
	return heap.Pop(a).(event), true
}
