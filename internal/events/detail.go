package events

import (
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Source is the EventBridge source of every breakerbox event.
const Source = "breakerbox"

// DetailType is the EventBridge detail-type of a circuit's state change.
const DetailType = "Circuit State Change"

// Detail is the JSON detail of a "Circuit State Change" event.
type Detail struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
	// At is when the transition happened, RFC 3339 in UTC with milliseconds.
	At      string `json:"at"`
	Version int64  `json:"version"`
}

// TimeFormat is the layout of Detail.At: RFC 3339 in UTC with millisecond precision.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FromTransition builds the detail of circuit id's transition tr.
func FromTransition(id string, tr circuit.Transition) Detail {
	return Detail{
		ID:      id,
		From:    tr.From,
		To:      tr.To,
		Reason:  tr.Reason,
		At:      FormatTime(tr.At),
		Version: tr.Version,
	}
}

// FormatTime formats t as Detail.At does; the zero time gives "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}
