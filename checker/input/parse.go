package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/breakerbox/breakerbox/internal/jsondup"
)

// example is quoted in errors so the fix is one copy away.
const example = `{"id":"inventory","url":"https://api.example.com/health","timeout":"4s"}`

// knownFields are the fields of one target, in the order errors list them.
var knownFields = []string{"id", "url", "timeout", "method", "expectStatus", "slowCall", "headers", "followRedirects"}

// Parse reads the checker input in any of its three shapes and validates every target. It returns
// at least one target, or an error that says what is wrong and where.
func Parse(raw []byte) ([]Target, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("checker input is empty: set the rule target's constant Input to e.g. %s", example)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("checker input is not a JSON object (%v): want e.g. %s or {\"targets\":[...]}", err, example)
	}
	if dup := jsondup.First(raw); dup != "" {
		return nil, fmt.Errorf("checker input: field %q appears twice: keep one (JSON would silently use the last)", dup)
	}
	if _, ok := fields["detail-type"]; ok {
		return nil, fmt.Errorf("checker input is an EventBridge event, not the checker input: set the rule target's constant Input to e.g. %s", example)
	}
	list, ok := fields["targets"]
	if !ok {
		t, err := parseTarget(fields)
		if err != nil {
			return nil, fmt.Errorf("checker input: %w", err)
		}
		return []Target{t}, nil
	}
	if len(fields) > 1 {
		return nil, fmt.Errorf(`checker input: "targets" must be the only field, found also %s`, strings.Join(otherKeys(fields, "targets"), ", "))
	}
	return parseList(list)
}

func parseList(list json.RawMessage) ([]Target, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return nil, fmt.Errorf(`checker input: "targets" must be a list of targets like %s`, example)
	}
	if len(items) == 0 {
		return nil, errors.New(`checker input: "targets" is empty: give at least one target`)
	}
	if len(items) > MaxTargets {
		return nil, fmt.Errorf(`checker input: %d targets, at most %d per rule: split them over several rules`, len(items), MaxTargets)
	}
	out := make([]Target, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(item, &fields); err != nil || fields == nil {
			return nil, fmt.Errorf("checker input: targets[%d] is not a JSON object: want e.g. %s", i, example)
		}
		t, err := parseTarget(fields)
		if err != nil {
			return nil, fmt.Errorf("checker input: targets[%d]: %w", i, err)
		}
		if j, dup := seen[t.ID]; dup {
			return nil, fmt.Errorf("checker input: targets[%d] and targets[%d] both probe circuit %q: one probe per circuit per run", j, i, t.ID)
		}
		seen[t.ID] = i
		out = append(out, t)
	}
	return out, nil
}

// parseTarget reads one target object, matching field names exactly. "ID" and "URL" (the AWS
// sample's names) stand for "id" and "url".
func parseTarget(fields map[string]json.RawMessage) (Target, error) {
	var s Spec
	for _, alias := range [][2]string{{"ID", "id"}, {"URL", "url"}} {
		if v, ok := fields[alias[0]]; ok {
			if _, both := fields[alias[1]]; both {
				return Target{}, fmt.Errorf("both %q and %q are set: use one", alias[0], alias[1])
			}
			fields[alias[1]] = v
			delete(fields, alias[0])
		}
	}
	for _, key := range sortedKeys(fields) {
		if err := setField(&s, key, fields[key]); err != nil {
			return Target{}, err
		}
	}
	t, err := s.Validate()
	if err != nil && s.ID != "" {
		return Target{}, fmt.Errorf("id %q: %w", s.ID, err)
	}
	return t, err
}

func setField(s *Spec, key string, v json.RawMessage) error {
	var dst any
	want := "a string"
	switch key {
	case "id":
		dst = &s.ID
	case "url":
		dst = &s.URL
	case "timeout":
		dst, want = &s.Timeout, `a duration string such as "4s"`
	case "method":
		dst, want = &s.Method, `a string such as "GET"`
	case "expectStatus":
		dst, want = &s.ExpectStatus, `a string such as "200-399"`
	case "slowCall":
		dst, want = &s.SlowCall, `a duration string such as "1s"`
	case "headers":
		// Through pointers, so that a null value is told from "": json would read it as an empty
		// header, sent without a word.
		var m map[string]*string
		want = `an object of strings such as {"Authorization":"Bearer ..."}`
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("field %q: want %s, got %s", key, want, abbreviate(string(v)))
		}
		s.Headers = nil
		for name, val := range m {
			if val == nil {
				return fmt.Errorf("field %q: header %q is null: give it a string value, or leave it out", key, name)
			}
			if s.Headers == nil {
				s.Headers = make(map[string]string, len(m))
			}
			s.Headers[name] = *val
		}
		return nil
	case "followRedirects":
		dst, want = &s.FollowRedirects, "true or false"
	default:
		return unknownField(key)
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("field %q: want %s, got %s", key, want, abbreviate(string(v)))
	}
	return nil
}

func unknownField(key string) error {
	for _, k := range knownFields {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("unknown field %q: did you mean %q? (names are case-sensitive)", key, k)
		}
	}
	return fmt.Errorf("unknown field %q: a target has %s", key, strings.Join(knownFields, ", "))
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func otherKeys(m map[string]json.RawMessage, except string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		if k != except {
			out = append(out, fmt.Sprintf("%q", k))
		}
	}
	return out
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
