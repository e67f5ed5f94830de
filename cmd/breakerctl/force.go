package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// forceResult is what force-open, force-closed and clear print with -o json.
type forceResult struct {
	Circuit      circuitView    `json:"circuit"`
	Transition   *events.Detail `json:"transition,omitempty"`
	PublishError string         `json:"publishError,omitempty"`
}

// runForce returns the command that sets (or, for clear, removes) an override through the store's
// conditional write, then publishes the transition like every other part does.
func runForce(name string) func(ctx context.Context, a *app, args []string) error {
	override := map[string]circuit.Override{
		"force-open": circuit.ForcedOpen, "force-closed": circuit.ForcedClosed, "clear": circuit.NoOverride,
	}[name]
	return func(ctx context.Context, a *app, args []string) error {
		fs := a.flags(name)
		reason := fs.String("reason", "", "why, kept as the circuit's reason")
		pos, err := a.parse(fs, args)
		if err != nil {
			return err
		}
		id, err := oneID(pos, name)
		if err != nil {
			return err
		}
		if err := circuit.ValidateID(id); err != nil {
			return usagef("%v", err)
		}
		if override == circuit.ForcedOpen && strings.TrimSpace(*reason) == "" {
			return usagef("force-open needs --reason: say why, e.g. --reason 'provider maintenance until 14:00 UTC'")
		}
		st, err := a.store(ctx)
		if err != nil {
			return err
		}
		if override == circuit.NoOverride {
			// clear removes an override: on a circuit that does not exist it would create one, so a
			// misspelt id would succeed in silence.
			if _, err := st.GetConsistent(ctx, id); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no circuit %q in table %s: nothing to clear; 'breakerctl circuits' lists the ids", id, a.table)
			} else if err != nil {
				return err
			}
		}
		res, err := st.Force(ctx, id, override, *reason, time.Now())
		if err != nil {
			return err
		}
		out := forceResult{Circuit: viewOf(res.Circuit)}
		if res.Transition.Happened() {
			d := events.FromTransition(id, res.Transition)
			out.Transition = &d
		}
		// Every transition is published, whichever part makes it (DESIGN.md): there is no way to
		// skip it, which would leave the ventilators and every rule on the bus blind to it.
		if res.Changed {
			// Through the outbox: a failed publish is kept in the circuit item for its next writer,
			// and what an earlier writer could not publish goes out now.
			err := a.publish(ctx, st, id, res)
			if err != nil {
				out.PublishError = err.Error()
				a.warnf("the change is saved but was not published to EventBridge (it is kept for the circuit's next writer): %v", err)
			}
			if err != nil || len(res.Circuit.Unpublished) > 0 {
				// The outbox wrote the item again (to record the failure, or to clear what it
				// published): show the circuit as it is now, not the version before that write.
				if c, rerr := st.GetConsistent(ctx, id); rerr == nil {
					res.Circuit, out.Circuit = c, viewOf(c)
				}
			}
		}
		if a.output == "json" {
			return writeJSON(a.stdout, out)
		}
		if out.Transition == nil {
			// Still written: the reason is the new one, so say so rather than that nothing happened.
			fmt.Fprintf(a.stdout, "%s: already %s; reason now %q (version %d)\n", id, res.Circuit.Label(), res.Circuit.Reason, res.Circuit.Version)
			return nil
		}
		from := out.Transition.From
		if from == "" {
			from = "new"
		}
		fmt.Fprintf(a.stdout, "%s: %s → %s (version %d): %s\n", id, from, out.Transition.To, out.Transition.Version, out.Transition.Reason)
		return nil
	}
}

func (a *app) publish(ctx context.Context, st *store.Store, id string, res circuit.Result) error {
	eb, err := a.eventBridge(ctx)
	if err != nil {
		return err
	}
	// The outbox logs what it could neither publish nor keep (a transition dropped from a full
	// outbox): without a logger that loss was silent. Its warnings repeat what publish's caller
	// says in words, so only errors are logged, as JSON lines on stderr.
	log := slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ob := events.Outbox{Sender: events.NewPublisher(eb, events.Options{Bus: a.bus, Timeout: a.awsTimeout}), Store: st, Log: log}
	return ob.Send(ctx, id, res)
}
