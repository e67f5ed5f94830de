package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
)

// Event sources of a record, as Lambda names them.
const (
	sourceKinesis = "aws:kinesis"
	sourceSQS     = "aws:sqs"
)

// record is one record of a batch, whatever its source.
type record struct {
	// itemID identifies the record in batchItemFailures: a Kinesis sequence number or an SQS
	// message id.
	itemID string
	// deliveryID is unique to the record in its source: a Kinesis event id (shard and sequence
	// number) or an SQS message id.
	deliveryID string
	// group is the SQS FIFO message group ("" otherwise).
	group string
	// arrival is when the source received the record (zero if unknown).
	arrival        time.Time
	data           []byte
	raw            json.RawMessage
	source         string
	eventSourceARN string
}

// envelope is just enough of any event to tell what it is.
type envelope struct {
	Records    []json.RawMessage `json:"Records"`
	Source     string            `json:"source"`
	DetailType string            `json:"detail-type"`
	Detail     json.RawMessage   `json:"detail"`
}

// What wakes the ventilator up.
const (
	// TriggerSchedule is the scheduled rule (the backstop, rate(10 minutes) in the template).
	TriggerSchedule = "schedule"
	// TriggerEvent is the circuit's own Circuit State Change event, through the EventBridge rule on
	// the circuit.
	TriggerEvent = "event"
	// TriggerSelf is the ventilator's own schedule (SelfWake, rate(1 minute) in the template),
	// which resumes a ventilator its own controller tripped once the trip's WakeAt has passed.
	TriggerSelf = "self"
)

// Source and detail-type of the events breakerbox publishes on every circuit transition.
const (
	eventSource     = "breakerbox"
	eventDetailType = "Circuit State Change"
)

// wakeUp is a wake-up event: the schedule's, or a circuit's state change.
type wakeUp struct {
	trigger string
	// change is the state change's detail (TriggerEvent only).
	change stateChange
}

// stateChange is the detail of a Circuit State Change event: {"id","from","to","reason","at","version"}.
type stateChange struct {
	ID      string `json:"id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Reason  string `json:"reason"`
	At      string `json:"at"`
	Version int64  `json:"version"`
}

// errUnsupported is wrapped by the error for an event that is neither a batch nor a wake-up.
var errUnsupported = errors.New("unsupported event: want a Kinesis or SQS batch, an EventBridge scheduled event, a breakerbox Circuit State Change event or the ventilator's own wake")

// parseEvent tells a batch (its records, possibly none) from a wake-up (wake non-nil).
func parseEvent(raw []byte) (recs []record, wake *wakeUp, err error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errUnsupported, err)
	}
	switch {
	case env.Records != nil:
	case env.Source == eventSource && env.DetailType == eventDetailType:
		change, err := parseStateChange(env.Detail)
		if err != nil {
			return nil, nil, err
		}
		return nil, &wakeUp{trigger: TriggerEvent, change: change}, nil
	case env.Source == SelfWakeSource && env.DetailType == SelfWakeDetailType:
		return nil, &wakeUp{trigger: TriggerSelf}, nil
	case env.Source == "aws.events" || env.DetailType == "Scheduled Event":
		return nil, &wakeUp{trigger: TriggerSchedule}, nil
	default:
		return nil, nil, errUnsupported
	}
	recs = make([]record, 0, len(env.Records))
	for i, r := range env.Records {
		rec, err := parseRecord(r)
		if err != nil {
			return nil, nil, fmt.Errorf("record %d: %w", i, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil, nil
}

// parseStateChange reads a Circuit State Change event's detail forward-compatibly: fields it does
// not know (a publisher one version ahead may add some) are ignored, as EventBridge consumers are
// expected to; a missing or empty "id" or "to", either of them not a string, or a "version" that is
// not a whole number, is an error that says what is wrong. "version" may be missing (read as 0: the
// event is then never taken as newer than the extension's copy of the circuit); "from", "reason"
// and "at" are only logged, whatever their type.
func parseStateChange(detail json.RawMessage) (stateChange, error) {
	const want = `want a detail like {"id":"payments","from":"OPEN","to":"HALF_OPEN","reason":"...","at":"...","version":7}`
	var c stateChange
	if len(bytes.TrimSpace(detail)) == 0 || bytes.Equal(bytes.TrimSpace(detail), []byte("null")) {
		return c, fmt.Errorf("%s event without a detail: %s", eventDetailType, want)
	}
	// The fields read, as they are: "from", "reason" and "at" are only logged, so one of another
	// type (an "at" in epoch milliseconds, say) is logged as its JSON rather than failing the wake.
	var d struct {
		ID      string          `json:"id"`
		To      string          `json:"to"`
		Version json.RawMessage `json:"version"`
		From    json.RawMessage `json:"from"`
		Reason  json.RawMessage `json:"reason"`
		At      json.RawMessage `json:"at"`
	}
	if err := json.Unmarshal(detail, &d); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return c, fmt.Errorf("%s event: detail field %q is a JSON %s, want a %s: %s", eventDetailType, ute.Field, ute.Value, ute.Type, want)
		}
		return c, fmt.Errorf("%s event: detail is not a JSON object (%w): %s", eventDetailType, err, want)
	}
	c = stateChange{ID: d.ID, To: d.To, From: loggedString(d.From), Reason: loggedString(d.Reason), At: loggedString(d.At)}
	if len(d.Version) > 0 && !bytes.Equal(d.Version, []byte("null")) {
		// A JSON number (8.0 is 8), whole and within int64; a string, even "8", is not one.
		v, ok := wholeNumber(d.Version)
		if !ok {
			return c, fmt.Errorf("%s event: detail field \"version\" is %s, want a whole JSON number: %s", eventDetailType, truncate(string(d.Version), 64), want)
		}
		c.Version = v
	}
	var missing []string
	if c.ID == "" {
		missing = append(missing, `"id"`)
	}
	if c.To == "" {
		missing = append(missing, `"to"`)
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("%s event: detail without %s: %s", eventDetailType, strings.Join(missing, " or "), want)
	}
	return c, nil
}

// loggedString is a detail field that is only logged: a JSON string's value, or else the JSON as
// it came ("" when absent or null).
func loggedString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return truncate(string(raw), 256)
}

// wholeNumber reads raw as a JSON number with no fractional part that fits an int64.
func wholeNumber(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	if v, err := n.Int64(); err == nil {
		return v, true
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func parseRecord(raw json.RawMessage) (record, error) {
	var head struct {
		EventSource string `json:"eventSource"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return record{}, fmt.Errorf("%w: %w", errUnsupported, err)
	}
	switch head.EventSource {
	case sourceKinesis:
		var k events.KinesisEventRecord
		if err := json.Unmarshal(raw, &k); err != nil {
			return record{}, fmt.Errorf("kinesis record: %w", err)
		}
		if k.Kinesis.SequenceNumber == "" {
			return record{}, errors.New("kinesis record without a sequence number")
		}
		return record{
			itemID: k.Kinesis.SequenceNumber, deliveryID: k.EventID, arrival: k.Kinesis.ApproximateArrivalTimestamp.Time,
			data: k.Kinesis.Data, raw: raw, source: sourceKinesis, eventSourceARN: k.EventSourceArn,
		}, nil
	case sourceSQS:
		var m events.SQSMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return record{}, fmt.Errorf("sqs message: %w", err)
		}
		if m.MessageId == "" {
			return record{}, errors.New("sqs message without a message id")
		}
		rec := record{
			itemID: m.MessageId, deliveryID: m.MessageId, group: m.Attributes["MessageGroupId"],
			data: []byte(m.Body), raw: raw, source: sourceSQS, eventSourceARN: m.EventSourceARN,
		}
		if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
			rec.arrival = time.UnixMilli(ms)
		}
		return rec, nil
	}
	return record{}, fmt.Errorf("%w: record source %q", errUnsupported, head.EventSource)
}

// recordID returns the record's string id, or a dead-letter reason code and detail.
func recordID(data []byte) (id, reason, detail string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", deadletter.ReasonInvalidJSON, "record is not a JSON object: " + err.Error()
	}
	raw, ok := obj["id"]
	if !ok {
		return "", deadletter.ReasonMissingID, `record has no "id"`
	}
	if err := json.Unmarshal(raw, &id); err != nil || id == "" {
		return "", deadletter.ReasonMissingID, `record's "id" is not a non-empty string: ` + truncate(string(raw), 64)
	}
	return id, "", ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
