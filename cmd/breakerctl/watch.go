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
// many writes lay between.
func runWatch(ctx context.Context, a *app, args []string) error {
	fs := a.flags("watch")
	interval := fs.Duration("interval", time.Second, "how often to read the table")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("watch takes no arguments")
	}
	if *interval < 100*time.Millisecond {
		return usagef("--interval %s is too short: each poll scans the table; use 1s or more", *interval)
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	seen, err := st.List(ctx)
	if err != nil && len(seen) == 0 {
		return fmt.Errorf("%w (check the table name %q and your AWS region)", err, a.table)
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
			if known && (prev.Label() == c.Label() || c.Version <= prev.Version) {
				continue
			}
			if err := a.printChange(prev, c, known); err != nil {
				return err
			}
		}
	}
}

func (a *app) printChange(prev, c circuit.Circuit, known bool) error {
	d := events.Detail{ID: c.ID, To: c.Label(), Reason: c.Reason, At: events.FormatTime(c.Since), Version: c.Version}
	if known {
		d.From = prev.Label()
	}
	if a.output == "json" {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	}
	from := d.From
	if from == "" {
		from = "new"
	}
	skipped := ""
	if known && c.Version > prev.Version+1 {
		skipped = fmt.Sprintf(" (+%d writes)", c.Version-prev.Version-1)
	}
	_, err := fmt.Fprintf(a.stdout, "%s  %s  %s → %s  v%d%s  %s\n",
		c.Since.UTC().Format(time.RFC3339), c.ID, from, d.To, c.Version, skipped, orDash(c.Reason))
	return err
}
