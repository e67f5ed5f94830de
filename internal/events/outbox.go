package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Sender publishes details; *Publisher is one.
type Sender interface {
	Publish(ctx context.Context, details ...Detail) error
}

// maxUnpublished bounds a circuit's outbox; beyond it the oldest entries are logged and dropped.
const maxUnpublished = 32

// outboxWriteTimeout bounds the write that records or clears the outbox, which must happen even
// when the caller's context was cancelled during the publish. A caller's deadline (a SHUTDOWN's, an
// invocation's) is never passed: the publish gets half the time left before it, the write the rest.
const outboxWriteTimeout = 5 * time.Second

// Outbox publishes each transition once, by the part that wrote it, and loses none when a publish
// fails: the writer of a transition (the one winner of its conditional write) publishes it; if that
// fails, the transition is recorded in the circuit item (Circuit.Unpublished), and the next part that
// writes the circuit, whichever it is, publishes what is recorded and clears it. Every event carries
// the circuit's version, unique per transition, for a consumer that must rule out the one duplicate
// left possible (a publisher that stops between a successful publish and the clearing write).
type Outbox struct {
	Sender Sender
	Store  store.Updater
	Log    *slog.Logger
}

// Send publishes res's transition (if any) and the transitions recorded as unpublished in
// res.Circuit, which was just written. It returns the publish error, if any, after recording what
// was not published; it never undoes the state write.
func (o *Outbox) Send(ctx context.Context, id string, res circuit.Result) error {
	pending := res.Circuit.Unpublished
	if !res.Transition.Happened() && len(pending) == 0 {
		return nil
	}
	all := slices.Clone(pending)
	if res.Transition.Happened() && !hasVersion(all, res.Transition.Version) {
		all = append(all, res.Transition)
	}
	details := make([]Detail, len(all))
	for i, tr := range all {
		details[i] = FromTransition(id, tr)
	}
	pctx, wctx := ctx, context.WithoutCancel(ctx)
	if end, ok := ctx.Deadline(); ok {
		var cancelP, cancelW context.CancelFunc
		pctx, cancelP = context.WithDeadline(ctx, end.Add(-time.Until(end)/2))
		defer cancelP()
		wctx, cancelW = context.WithDeadline(wctx, end)
		defer cancelW()
	}
	err := o.Sender.Publish(pctx, details...)
	wctx, cancel := context.WithTimeout(wctx, outboxWriteTimeout)
	defer cancel()
	// What was published: everything, or, when the bus refused some events (a *NotPublished
	// names them), the others; any other error publishes nothing.
	failed := map[int64]bool{}
	var np *NotPublished
	switch {
	case err == nil:
	case errors.As(err, &np):
		for _, d := range np.Details {
			failed[d.Version] = true
		}
	default:
		failed = versions(all)
	}
	done := map[int64]bool{} // recorded and now published: cleared from the outbox
	for _, t := range pending {
		if !failed[t.Version] {
			done[t.Version] = true
		}
	}
	tr := res.Transition
	record := tr.Happened() && failed[tr.Version] && !hasVersion(pending, tr.Version)
	if !record {
		if len(done) > 0 {
			if _, cerr := o.Store.Update(wctx, id, func(cur circuit.Circuit) (circuit.Result, error) {
				return rewrite(cur, slices.DeleteFunc(slices.Clone(cur.Unpublished), func(t circuit.Transition) bool { return done[t.Version] })), nil
			}); cerr != nil {
				o.log().Warn("events published but still recorded as unpublished; the next writer publishes them again",
					"circuit", id, "events", len(done), "error", cerr.Error())
			}
		}
		return err // nil, or what failed is recorded already
	}
	if _, rerr := o.Store.Update(wctx, id, func(cur circuit.Circuit) (circuit.Result, error) {
		kept := slices.DeleteFunc(slices.Clone(cur.Unpublished), func(t circuit.Transition) bool { return done[t.Version] })
		if hasVersion(kept, tr.Version) {
			return rewrite(cur, kept), nil
		}
		next := append(kept, tr)
		if n := len(next) - maxUnpublished; n > 0 {
			for _, lost := range next[:n] {
				o.log().Error("circuit state change dropped from a full outbox", "circuit", id, "from", lost.From, "to", lost.To, "version", lost.Version, "reason", lost.Reason)
			}
			next = next[n:]
		}
		return rewrite(cur, next), nil
	}); rerr != nil {
		o.log().Error("circuit state change neither published nor recorded", "circuit", id, "from", tr.From, "to", tr.To,
			"version", tr.Version, "reason", tr.Reason, "at", FormatTime(tr.At), "error", rerr.Error())
		return fmt.Errorf("%w; recording it for a later publish failed too: %w", err, rerr)
	}
	o.log().Warn("circuit state change recorded for the next writer to publish", "circuit", id, "version", tr.Version, "error", err.Error())
	return err
}

func (o *Outbox) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// rewrite returns cur with its outbox replaced, as a write of the next version (no transition).
func rewrite(cur circuit.Circuit, unpublished []circuit.Transition) circuit.Result {
	if !cur.Exists() || slices.EqualFunc(cur.Unpublished, unpublished, func(a, b circuit.Transition) bool { return a.Version == b.Version }) {
		return circuit.Result{Circuit: cur}
	}
	next := cur
	if len(unpublished) == 0 {
		unpublished = nil
	}
	next.Unpublished = unpublished
	next.Version = cur.Version + 1
	return circuit.Result{Circuit: next, Changed: true}
}

func hasVersion(ts []circuit.Transition, v int64) bool {
	return slices.ContainsFunc(ts, func(t circuit.Transition) bool { return t.Version == v })
}

func versions(ts []circuit.Transition) map[int64]bool {
	m := make(map[int64]bool, len(ts))
	for _, t := range ts {
		m[t.Version] = true
	}
	return m
}
