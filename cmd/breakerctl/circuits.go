package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

func runCircuits(ctx context.Context, a *app, args []string) error {
	fs := a.flags("circuits")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("circuits takes no arguments; to see one circuit use breakerctl get %s", pos[0])
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	cs, listErr := st.List(ctx)
	if listErr != nil && len(cs) == 0 {
		return listErr // run explains it
	}
	if len(cs) == 0 {
		// A table with another key scans as empty: "no circuits yet" would hide the wrong --table.
		db, err := a.dynamo(ctx)
		if err != nil {
			return err
		}
		if err := checkKeySchema(ctx, timedAdmin{db: db, timeout: a.awsTimeout}, a.table); err != nil {
			return err
		}
	}
	if err := printCircuits(a, cs); err != nil {
		return err
	}
	if listErr != nil {
		// Some items were unreadable, or a page failed: the circuits read are shown, and the exit
		// status says the list is not the table's, so that a script never takes it for all of them.
		return fmt.Errorf("the list above is incomplete: %w", listErr)
	}
	return nil
}

// printCircuits writes cs sorted by id, as a table or as JSON.
func printCircuits(a *app, cs []circuit.Circuit) error {
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	if a.output == "json" {
		views := make([]circuitView, len(cs))
		for i, c := range cs {
			views[i] = viewOf(c)
		}
		return writeJSON(a.stdout, map[string]any{"circuits": views})
	}
	if len(cs) == 0 {
		fmt.Fprintf(a.stdout, "no circuits in table %s yet: they appear with the first check or reported outcome\n", a.table)
		return nil
	}
	now := time.Now()
	t := newTable(a.stdout, "ID", "STATE", "SINCE", "RETRY", "VERSION", "LAST CHECK", "OWN POLICY", "REASON")
	for _, c := range cs {
		t.row(c.ID, c.Label(), ago(c.Since, now), until(c.RetryAt, now), strconv.FormatInt(c.Version, 10), lastCheck(c, now), orDash(joinPolicy(c.Policy)), orDash(c.Reason))
	}
	return t.flush()
}

func lastCheck(c circuit.Circuit, now time.Time) string {
	if c.CheckedAt.IsZero() {
		return "-"
	}
	res := "ok"
	if c.LastError != "" {
		res = c.LastError
	}
	return fmt.Sprintf("%s, %dms, %s", ago(c.CheckedAt, now), c.LastLatencyMs, res)
}

func runGet(ctx context.Context, a *app, args []string) error {
	fs := a.flags("get")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "get")
	if err != nil {
		return err
	}
	if err := circuit.ValidateID(id); err != nil {
		return usagef("%v", err)
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	c, err := st.GetConsistent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no circuit %q in table %s: 'breakerctl circuits' lists the ids", id, a.table)
	}
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(a.stdout, viewOf(c))
	}
	now := time.Now()
	t := newTable(a.stdout, "FIELD", "VALUE")
	t.row("id", c.ID)
	t.row("state", c.Label())
	if c.Override != circuit.NoOverride {
		t.row("automatic state", string(c.State))
	}
	t.row("since", fmt.Sprintf("%s (%s)", c.Since.UTC().Format(time.RFC3339), ago(c.Since, now)))
	if !c.RetryAt.IsZero() {
		t.row("retry at", fmt.Sprintf("%s (%s)", c.RetryAt.UTC().Format(time.RFC3339), until(c.RetryAt, now)))
	}
	t.row("reason", orDash(c.Reason))
	t.row("version", strconv.FormatInt(c.Version, 10))
	t.row("open count", strconv.Itoa(c.OpenCount))
	t.row("consecutive failures", strconv.Itoa(c.ConsecutiveFailures))
	if c.State == circuit.HalfOpen {
		t.row("probe successes", strconv.Itoa(c.ProbeSuccesses))
	}
	for _, p := range c.Probes {
		t.row("probe", fmt.Sprintf("%s until %s", p.Permit, p.Until.UTC().Format(time.RFC3339)))
	}
	t.row("last check", lastCheck(c, now))
	for _, k := range sortedKeys(c.Policy) {
		t.row("policy "+k, c.Policy[k])
	}
	return t.flush()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
