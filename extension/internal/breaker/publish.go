package breaker

import (
	"context"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
)

// sent is one written result whose events are still to be sent.
type sent struct {
	id  string
	res circuit.Result
}

// publish sends the events of the results written since the last flush, in the order they were
// written, through an events.Outbox: a failed publish is recorded in the circuit item for the next
// writer of the circuit, never retried here in a way that could send it twice.
func (b *Breaker) publish(ctx context.Context) {
	b.sendMu.Lock()
	todo := b.toSend
	b.toSend = nil
	b.sendMu.Unlock()
	if len(todo) == 0 {
		return
	}
	ob := events.Outbox{Sender: b.opt.Events, Store: b.store, Log: b.log}
	for _, s := range todo {
		if err := ob.Send(ctx, s.id, s.res); err != nil {
			b.stats.publishErrors.Add(1)
			b.log.Error("state change written but not published", "circuit", s.id, "from", s.res.Transition.From, "to", s.res.Transition.To,
				"version", s.res.Transition.Version, "error", err.Error())
			continue
		}
		b.stats.published.Add(1)
	}
}
