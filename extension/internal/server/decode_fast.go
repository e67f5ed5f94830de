package server

import (
	"encoding/json"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
)

// The outcomes endpoint is on the path of every call a function makes. strictOutcomes decodes a
// report field by field (a map per object, an Unmarshal per field) to name what is wrong, several
// times the cost of decoding it once; fastOutcomes decodes a well-formed report in one pass, and
// leaves anything it is not sure of to strictOutcomes.

// Bits of the field names a report may hold, spelt exactly.
const (
	bitOK uint8 = 1 << iota
	bitLatency
	bitPermit
	bitError
	bitCall
	bitOutcomes
)

func fieldBit(name []byte) uint8 {
	switch string(name) {
	case "ok":
		return bitOK
	case "latencyMs":
		return bitLatency
	case "permit":
		return bitPermit
	case "error":
		return bitError
	case "call":
		return bitCall
	case "outcomes":
		return bitOutcomes
	}
	return 0
}

// fastOutcome is one outcome as encoding/json reads it; nil is absent or null.
type fastOutcome struct {
	OK        *bool    `json:"ok"`
	LatencyMs *float64 `json:"latencyMs"`
	Permit    *string  `json:"permit"`
	Call      *string  `json:"call"`
	Error     *string  `json:"error"`
}

// fastReport is {"outcomes":[...]} or one outcome.
type fastReport struct {
	Outcomes *[]fastOutcome `json:"outcomes"`
	fastOutcome
}

// fastOutcomes decodes raw in one pass when it is a report strictOutcomes accepts, with the same
// result; ok is false for anything else (or anything it is not sure of), which strictOutcomes then
// decodes to say what is wrong.
func fastOutcomes(raw []byte) (outs []breaker.Outcome, ok bool) {
	top, ok := exactKeys(raw)
	if !ok || top == 0 || (top&bitOutcomes != 0 && top != bitOutcomes) {
		return nil, false
	}
	var rep fastReport
	if json.Unmarshal(raw, &rep) != nil {
		return nil, false
	}
	if top != bitOutcomes {
		o, ok := rep.fastOutcome.outcome()
		return []breaker.Outcome{o}, ok
	}
	if rep.Outcomes == nil {
		return nil, false
	}
	outs = make([]breaker.Outcome, len(*rep.Outcomes))
	for i, o := range *rep.Outcomes {
		if outs[i], ok = o.outcome(); !ok {
			return nil, false
		}
	}
	return outs, true
}

// outcome converts o as parseOutcome does; ok is false where parseOutcome would refuse it.
func (o fastOutcome) outcome() (breaker.Outcome, bool) {
	if o.OK == nil || o.LatencyMs == nil {
		return breaker.Outcome{}, false
	}
	ms := *o.LatencyMs
	if ms < 0 || ms > float64(maxLatency/time.Millisecond) {
		return breaker.Outcome{}, false
	}
	out := breaker.Outcome{OK: *o.OK, Latency: time.Duration(ms * float64(time.Millisecond))}
	if o.Permit != nil {
		if len(*o.Permit) > maxPermitLen {
			return breaker.Outcome{}, false
		}
		out.Permit = *o.Permit
	}
	if o.Call != nil {
		if len(*o.Call) > maxCallLen {
			return breaker.Outcome{}, false
		}
		out.Call = *o.Call
	}
	if o.Error != nil {
		out.Err = cutErr(*o.Error)
	}
	return out, true
}

// exactKeys checks, without decoding, that every object key of raw is a field name spelt exactly
// where it belongs: a report's own fields at the top (the outermost object), an outcome's fields
// inside the list's objects. top is the set of the top's fields. ok is false for any other key (an
// unknown, misspelt or escaped name, one at another depth, one given twice in an object) and for an
// unterminated string; the JSON
// itself is checked by the decode that follows.
func exactKeys(raw []byte) (top uint8, ok bool) {
	depth := 0
	var cur uint8 // the fields of the outcome object being read, for a key given twice
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{', '[':
			depth++
			if depth == 3 {
				cur = 0
			}
		case '}', ']':
			depth--
		case '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(raw) {
				return 0, false
			}
			k := j + 1
			for k < len(raw) && (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\n' || raw[k] == '\r') {
				k++
			}
			if k < len(raw) && raw[k] == ':' {
				bit := fieldBit(raw[i+1 : j])
				switch {
				case depth == 1 && bit != 0 && top&bit == 0:
					top |= bit
				case depth == 3 && bit != 0 && bit != bitOutcomes && cur&bit == 0:
					cur |= bit
				default:
					// Unknown, misplaced, or given twice (JSON would keep the last in silence):
					// the strict decode says which.
					return 0, false
				}
			}
			i = j
		}
	}
	return top, true
}
