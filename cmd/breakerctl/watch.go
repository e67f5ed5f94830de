package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
)

// runWatch polls the table and prints every change of a circuit's label (its override, else its
// state) as it sees it. Changes quicker than the interval fold into one line; the version shows how
// many writes lay between. A circuit that left its state and came back between two polls (a failed
// half-open probe: OPEN → HALF_OPEN → OPEN) is a change too: its since moved.
func runWatch(ctx context.Context, a *app, args []string) error {
	fs := a.flags("watch")
	interval := new(time.Duration)
	durationVar(fs, interval, "interval", time.Second, "how often to read the table, a `duration` (1s, 5s)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("watch takes no arguments")
	}
	if *interval < 100*time.Millisecond {
		return usagef("--interval %s is too short: each poll scans the table; use 100ms or more (the default is 1s)", *interval)
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	seen, err := st.List(ctx)
	if err != nil && len(seen) == 0 {
		return err // run explains it
	}
	if len(seen) == 0 {
		// A table with another key scans as empty: watching it would wait forever for nothing.
		db, err := a.dynamo(ctx)
		if err != nil {
			return err
		}
		if err := checkKeySchema(ctx, timedAdmin{db: db, timeout: a.awsTimeout}, a.table); err != nil {
			return err
		}
	}
	last := make(map[string]circuit.Circuit, len(seen))
	for _, c := range seen {
		last[c.ID] = c
	}
	fmt.Fprintf(a.stderr, "watching %d circuits in table %s every %s; Ctrl-C to stop\n", len(last), a.table, *interval)
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cs, err := st.List(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !failing {
				a.warnf("cannot read the table, will keep trying: %v", err)
			}
			failing = true
			if len(cs) == 0 {
				continue
			}
		} else if failing {
			fmt.Fprintln(a.stderr, "reading the table again")
			failing = false
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].Since.Before(cs[j].Since) })
		for _, c := range cs {
			prev, known := last[c.ID]
			last[c.ID] = c
			if known && !changed(prev, c) {
				continue
			}
			if err := a.printChange(prev, c, known); err != nil {
				return err
			}
		}
	}
}

// changed reports whether c, read after prev, is a transition to print: a newer version whose
// label differs, or whose since moved (it left its state and came back between two reads).
func changed(prev, c circuit.Circuit) bool {
	if c.Version <= prev.Version {
		return false
	}
	return prev.Label() != c.Label() || !c.Since.Equal(prev.Since)
}

// watchLine is what watch prints with -o json: the transition as EventBridge carries it, and the
// states it went through between two polls when it came back to where it was.
type watchLine struct {
	events.Detail
	Via []string `json:"via,omitempty"`
}

// via names the states a circuit passed through between two reads that show it in the same state.
// Two writes from OPEN back to OPEN can only be a probe taken and failed (OPEN → HALF_OPEN → OPEN);
// any other round trip is shown as "…".
func via(prev, c circuit.Circuit) []string {
	if prev.Label() != c.Label() {
		return nil
	}
	if c.Version == prev.Version+2 {
		switch c.Label() {
		case string(circuit.Open):
			return []string{string(circuit.HalfOpen)}
		case string(circuit.HalfOpen):
			return []string{string(circuit.Open)}
		}
	}
	return []string{"…"}
}

func (a *app) printChange(prev, c circuit.Circuit, known bool) error {
	line := watchLine{Detail: events.Detail{ID: c.ID, To: c.Label(), Reason: c.Reason, At: events.FormatTime(c.Since), Version: c.Version}}
	if known {
		line.From = prev.Label()
		line.Via = via(prev, c)
	}
	if a.output == "json" {
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	}
	path := line.From
	if path == "" {
		path = "new"
	}
	for _, s := range line.Via {
		path += " → " + s
	}
	skipped := ""
	between := c.Version - prev.Version - 1 // writes between the two reads
	if len(line.Via) == 1 && line.Via[0] != "…" {
		between-- // the one shown
	}
	if known && between > 0 {
		skipped = fmt.Sprintf(" (+%d writes)", between)
	}
	_, err := fmt.Fprintf(a.stdout, "%s  %s  %s → %s  v%d%s  %s\n",
		c.Since.UTC().Format(time.RFC3339), c.ID, path, line.To, c.Version, skipped, orDash(c.Reason))
	return err
}
