package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/internal/jsondup"
)

// Limits on a reported outcome.
const (
	maxLatency   = 24 * time.Hour
	maxPermitLen = 128
	maxCallLen   = 64
	maxErrLen    = 256
)

// outcomeFields are the fields of one outcome, in the order the API documents them.
var outcomeFields = []string{"ok", "latencyMs", "permit", "call", "error", "cancelled"}

// bodyHints are the names a field of a single-outcome body may have been meant as.
var bodyHints = []string{"ok", "latencyMs", "permit", "call", "error", "cancelled", "outcomes"}

// outcomeShape says what an outcome holds, for error messages.
const outcomeShape = `an outcome is {"ok":true|false,"latencyMs":<milliseconds>,"permit":"..."?,"call":"..."?,"error":"..."?}, or {"call":"...","cancelled":true} (or "permit") for a call that was not made or was cancelled`

// requestError is a body that is JSON but not what the endpoint takes: the code and a message that
// names the field and what is expected.
type requestError struct {
	code, msg string
}

func (e *requestError) Error() string { return e.msg }

func invalidJSON(err error) *requestError {
	return &requestError{code: "invalid_json", msg: "body is not valid JSON: " + err.Error()}
}

func invalidOutcome(format string, args ...any) *requestError {
	return &requestError{code: "invalid_outcome", msg: fmt.Sprintf(format, args...)}
}

// decodeOutcomes reads {"outcomes":[...]} or one outcome object. Field names are exact (JSON is
// case-sensitive; encoding/json alone is not), and a field the API does not know is an error that
// names it, so a misspelt "latency" is refused rather than read as a call of 0 ms. A well-formed
// report takes the one-pass fastOutcomes; anything else is decoded field by field to say what is
// wrong.
func decodeOutcomes(raw []byte) ([]breaker.Outcome, error) {
	if outs, ok := fastOutcomes(raw); ok {
		return outs, nil
	}
	return strictOutcomes(raw)
}

// strictOutcomes is decodeOutcomes field by field: each field is checked on its own, so that an
// error names it and what is expected.
func strictOutcomes(raw []byte) ([]breaker.Outcome, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &requestError{code: "invalid_json", msg: `empty body: send {"outcomes":[...]} or one outcome; ` + outcomeShape}
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, withHint(err, `send {"outcomes":[...]} or one outcome; `+outcomeShape)
	}
	if dup := jsondup.First(raw); dup != "" {
		return nil, invalidOutcome(`field %q is given twice: send it once (JSON would keep the last without a word); %s`, dup, outcomeShape)
	}
	list, isList := obj["outcomes"]
	if !isList {
		if len(obj) == 0 {
			return nil, invalidOutcome(`empty body object: want {"outcomes":[...]} or one outcome; ` + outcomeShape)
		}
		o, err := parseOutcome(obj, bodyHints)
		if err != nil {
			return nil, invalidOutcome("%v; %s", err, outcomeShape)
		}
		return []breaker.Outcome{o}, nil
	}
	if len(obj) > 1 {
		delete(obj, "outcomes")
		return nil, invalidOutcome(`unknown field %s beside "outcomes": send {"outcomes":[...]} alone, or one outcome object without the list`, quotedKeys(obj))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil || items == nil {
		return nil, invalidOutcome(`"outcomes" must be a JSON array of outcome objects; ` + outcomeShape)
	}
	outs := make([]breaker.Outcome, 0, len(items))
	for i, item := range items {
		fields, err := decodeObject(item)
		if err != nil {
			return nil, invalidOutcome("outcome %d is not a JSON object; %s", i, outcomeShape)
		}
		o, err := parseOutcome(fields, outcomeFields)
		if err != nil {
			return nil, invalidOutcome("outcome %d: %v; %s", i, err, outcomeShape)
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// withHint adds what to send to the message of a requestError.
func withHint(err error, hint string) error {
	var re *requestError
	if errors.As(err, &re) {
		return &requestError{code: re.code, msg: re.msg + "; " + hint}
	}
	return err
}

// decodeObject decodes one JSON object into its raw fields.
func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			// Valid JSON, of the wrong type: saying "not valid JSON" would send the sender to a validator.
			return nil, &requestError{code: "invalid_json", msg: "body is a JSON " + ute.Value + ", not an object"}
		}
		return nil, invalidJSON(err)
	}
	if obj == nil {
		return nil, &requestError{code: "invalid_json", msg: "body is JSON null, not an object"}
	}
	return obj, nil
}

// parseOutcome checks one outcome's fields and converts it.
func parseOutcome(f map[string]json.RawMessage, hints []string) (breaker.Outcome, error) {
	if err := unknownFields(f, outcomeFields, hints); err != nil {
		return breaker.Outcome{}, err
	}
	var out breaker.Outcome
	if _, has := f["cancelled"]; has {
		return cancelledOutcome(f)
	}
	ok, has := f["ok"]
	if !has || isNull(ok) || json.Unmarshal(ok, &out.OK) != nil {
		return out, fmt.Errorf(`"ok" must be true or false (got %s)`, shown(ok, has))
	}
	latRaw, has := f["latencyMs"]
	var ms float64
	if !has || isNull(latRaw) || json.Unmarshal(latRaw, &ms) != nil {
		return out, fmt.Errorf(`"latencyMs" must be the call's duration in milliseconds, a number (got %s)`, shown(latRaw, has))
	}
	if math.IsNaN(ms) || ms < 0 || ms > float64(maxLatency/time.Millisecond) {
		return out, fmt.Errorf(`"latencyMs" %v: want milliseconds from 0 to %d`, ms, maxLatency/time.Millisecond)
	}
	out.Latency = time.Duration(ms * float64(time.Millisecond))
	if err := names(f, &out); err != nil {
		return out, err
	}
	if err := optString(f, "error", &out.Err); err != nil {
		return out, err
	}
	out.Err = cutErr(out.Err) // a reason, kept short; the call's outcome itself is unchanged
	return out, nil
}

// cancelledOutcome reads {"call":"...","cancelled":true} (or "permit", or both): a call acquired
// and then not made, or cancelled by its caller, which says nothing of the provider. It carries no
// ok, latency or error: there is no outcome to count.
func cancelledOutcome(f map[string]json.RawMessage) (breaker.Outcome, error) {
	out := breaker.Outcome{Cancelled: true}
	var yes bool
	if raw := f["cancelled"]; json.Unmarshal(raw, &yes) != nil || !yes {
		return out, fmt.Errorf(`"cancelled" must be true (got %s): a call that was made is reported with "ok" and "latencyMs" instead`, raw)
	}
	for _, name := range []string{"ok", "latencyMs", "error"} {
		if _, has := f[name]; has {
			return out, fmt.Errorf(`a cancelled call has no outcome: send %q or "cancelled", not both`, name)
		}
	}
	if err := names(f, &out); err != nil {
		return out, err
	}
	if out.Call == "" && out.Permit == "" {
		return out, fmt.Errorf(`a cancelled call is named by the "call" (or "permit") acquire gave: send it back`)
	}
	return out, nil
}

// names reads an outcome's optional "permit" and "call", the names acquire gave, into out.
func names(f map[string]json.RawMessage, out *breaker.Outcome) error {
	if err := optString(f, "permit", &out.Permit); err != nil {
		return err
	}
	if len(out.Permit) > maxPermitLen {
		return fmt.Errorf(`"permit" is longer than %d characters: send back the permit acquire gave`, maxPermitLen)
	}
	if err := optString(f, "call", &out.Call); err != nil {
		return err
	}
	if len(out.Call) > maxCallLen {
		return fmt.Errorf(`"call" is longer than %d characters: send back the call acquire gave`, maxCallLen)
	}
	return nil
}

// cutErr cuts an outcome's error to at most maxErrLen bytes, at the start of a character: cut inside
// one, it would end in a broken UTF-8 sequence, shown as U+FFFD in the circuit's reason.
func cutErr(s string) string {
	if len(s) <= maxErrLen {
		return s
	}
	n := maxErrLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// optString reads an optional string field; null counts as absent.
func optString(f map[string]json.RawMessage, name string, dst *string) error {
	raw, has := f[name]
	if !has || isNull(raw) {
		return nil
	}
	if json.Unmarshal(raw, dst) != nil {
		return fmt.Errorf(`%q must be a string (got %s)`, name, raw)
	}
	return nil
}

// unknownFields names every field of f not in known, each with the field of hints it resembles.
func unknownFields(f map[string]json.RawMessage, known, hints []string) error {
	var bad []string
	for k := range f {
		if !contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	parts := make([]string, len(bad))
	for i, k := range bad {
		parts[i] = fmt.Sprintf("%q", k)
		if s := resembles(k, hints); s != "" {
			parts[i] += fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	word := "field"
	if len(bad) > 1 {
		word = "fields"
	}
	return fmt.Errorf("unknown %s %s", word, strings.Join(parts, ", "))
}

// resembles returns the known field k was probably meant to be: the same but for case and
// underscores, or a prefix of it ("latency" for "latencyMs").
func resembles(k string, known []string) string {
	// Case, underscores and a doubled l aside ("canceled" for "cancelled").
	norm := func(s string) string {
		return strings.ReplaceAll(strings.ToLower(strings.ReplaceAll(s, "_", "")), "ll", "l")
	}
	nk := norm(k)
	if nk == "" {
		return ""
	}
	for _, c := range known {
		nc := norm(c)
		if nk == nc || strings.HasPrefix(nc, nk) || strings.HasPrefix(nk, nc) {
			return c
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// quotedKeys lists the keys of f, quoted and sorted.
func quotedKeys(f map[string]json.RawMessage) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// shown is a field's raw value for a message, or "nothing" when it is missing.
func shown(raw json.RawMessage, has bool) string {
	if !has {
		return "nothing"
	}
	s := string(raw)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// decodeAcquireBody reads acquire's body: empty, whitespace or {} name the call (true); {"call":false}
// asks for an answer without a call name, for a batch of calls reported together. Anything else is a
// mistake the caller should hear about.
func decodeAcquireBody(raw []byte) (bool, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return true, nil
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return true, withHint(err, `acquire takes no body, or {"call":false} for a batch of calls reported together`)
	}
	if dup := jsondup.First(raw); dup != "" {
		return true, &requestError{code: "invalid_body", msg: fmt.Sprintf(`field %q is given twice: send {"call":false} once, or no body`, dup)}
	}
	v, has := obj["call"]
	delete(obj, "call")
	if len(obj) > 0 {
		return true, &requestError{code: "invalid_body", msg: fmt.Sprintf(`unknown field %s: acquire takes no body, or {"call":false} for a batch of calls reported together`, quotedKeys(obj))}
	}
	if !has {
		return true, nil
	}
	var name bool
	if err := json.Unmarshal(v, &name); err != nil || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return true, &requestError{code: "invalid_body", msg: fmt.Sprintf(`"call" is %s: want true (name the call, the default) or false (a batch of calls reported together)`, shown(v, true))}
	}
	return name, nil
}
