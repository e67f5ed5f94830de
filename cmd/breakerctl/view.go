package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
)

// circuitView is a circuit as breakerctl shows it in JSON: RFC 3339 times, optional fields omitted.
type circuitView struct {
	ID                  string            `json:"id"`
	State               string            `json:"state"`
	Override            string            `json:"override,omitempty"`
	Effective           string            `json:"effective"`
	Since               string            `json:"since,omitempty"`
	RetryAt             string            `json:"retryAt,omitempty"`
	Reason              string            `json:"reason"`
	Version             int64             `json:"version"`
	OpenCount           int               `json:"openCount"`
	ConsecutiveFailures int               `json:"consecutiveFailures"`
	ProbeSuccesses      int               `json:"probeSuccesses"`
	Probes              []probeView       `json:"probes,omitempty"`
	UpdatedAt           string            `json:"updatedAt,omitempty"`
	CheckedAt           string            `json:"checkedAt,omitempty"`
	LastLatencyMs       *int64            `json:"lastLatencyMs,omitempty"`
	LastError           *string           `json:"lastError,omitempty"`
	Policy              map[string]string `json:"policy,omitempty"`
}

type probeView struct {
	Permit string `json:"permit"`
	Until  string `json:"until"`
}

func viewOf(c circuit.Circuit) circuitView {
	v := circuitView{
		ID: c.ID, State: string(c.State), Override: string(c.Override), Effective: string(c.Effective()),
		Since: events.FormatTime(c.Since), RetryAt: events.FormatTime(c.RetryAt), Reason: c.Reason, Version: c.Version,
		OpenCount: c.OpenCount, ConsecutiveFailures: c.ConsecutiveFailures, ProbeSuccesses: c.ProbeSuccesses,
		UpdatedAt: events.FormatTime(c.UpdatedAt), CheckedAt: events.FormatTime(c.CheckedAt), Policy: c.Policy,
	}
	for _, p := range c.Probes {
		v.Probes = append(v.Probes, probeView{Permit: p.Permit, Until: events.FormatTime(p.Until)})
	}
	if !c.CheckedAt.IsZero() {
		v.LastLatencyMs, v.LastError = &c.LastLatencyMs, &c.LastError
	}
	return v
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// ago says how long before now t was, for people: "42s ago", "3m ago", "2h5m ago".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + roundHuman(-d)
	}
	return roundHuman(d) + " ago"
}

// until says how long after now t is: "in 12s", or "now" once passed.
func until(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if !t.After(now) {
		return "now"
	}
	return "in " + roundHuman(t.Sub(now))
}

func roundHuman(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
