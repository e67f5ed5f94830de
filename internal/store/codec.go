package store

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Attribute names of the table.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrExpiresAt = "expiresAt"
	// attrWriteToken marks which Put wrote a circuit item last; attrWriteTokens lists the marks of
	// its latest writes, oldest first (circuit.Circuit.WriteTokens, at most KeptWriteTokens; writetokens.go).
	attrWriteToken  = "writeToken"
	attrWriteTokens = "writeTokens"
	skCircuit       = "circuit"
)

func circuitKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(id), attrSK: str(skCircuit)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num[T int | int64](n T) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(n), 10)}
}

func ms(t time.Time) types.AttributeValue { return num(t.UnixMilli()) }

func encodeCircuit(c circuit.Circuit) map[string]types.AttributeValue {
	item := circuitKey(c.ID)
	item["state"] = str(string(c.State))
	item["version"] = num(c.Version)
	item["openCount"] = num(c.OpenCount)
	item["consecutiveFailures"] = num(c.ConsecutiveFailures)
	item["probeSuccesses"] = num(c.ProbeSuccesses)
	item["reason"] = str(c.Reason)
	setTime := func(name string, t time.Time) {
		if !t.IsZero() {
			item[name] = ms(t)
		}
	}
	setTime("since", c.Since)
	setTime("retryAt", c.RetryAt)
	setTime("updatedAt", c.UpdatedAt)
	setTime("checkedAt", c.CheckedAt)
	setTime("badSince", c.BadSince)
	setTime("badUntil", c.BadUntil)
	if c.Override != circuit.NoOverride {
		item["override"] = str(string(c.Override))
	}
	if !c.CheckedAt.IsZero() {
		item["lastLatencyMs"] = num(c.LastLatencyMs)
		item["lastError"] = str(c.LastError)
	}
	if len(c.Probes) > 0 {
		m := make(map[string]types.AttributeValue, len(c.Probes))
		for _, p := range c.Probes {
			m[p.Permit] = ms(p.Until)
		}
		item["probes"] = &types.AttributeValueMemberM{Value: m}
	}
	if len(c.Unpublished) > 0 {
		l := make([]types.AttributeValue, len(c.Unpublished))
		for i, tr := range c.Unpublished {
			l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"from": str(tr.From), "to": str(tr.To), "reason": str(tr.Reason), "at": ms(tr.At), "version": num(tr.Version),
			}}
		}
		item["unpublished"] = &types.AttributeValueMemberL{Value: l}
	}
	if len(c.Policy) > 0 {
		m := make(map[string]types.AttributeValue, len(c.Policy))
		for k, v := range c.Policy {
			m[k] = str(v)
		}
		item["policy"] = &types.AttributeValueMemberM{Value: m}
	}
	return item
}

// decoder reads attributes of one item and collects every problem, naming the item.
type decoder struct {
	item map[string]types.AttributeValue
	errs []error
}

func (d *decoder) fail(name, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("attribute %q: %s", name, fmt.Sprintf(format, args...)))
}

func (d *decoder) str(name string, required bool) string {
	v, ok := d.item[name]
	if !ok {
		if required {
			d.fail(name, "missing")
		}
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		d.fail(name, "want a string (S), got %s", typeName(v))
		return ""
	}
	return s.Value
}

func (d *decoder) int(name string, required bool) int64 {
	v, ok := d.item[name]
	if !ok {
		if required {
			d.fail(name, "missing")
		}
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		d.fail(name, "want a number (N), got %s", typeName(v))
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		d.fail(name, "want a whole number, got %q", n.Value)
	}
	return i
}

func (d *decoder) time(name string) time.Time {
	if _, ok := d.item[name]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(d.int(name, false)).UTC()
}

func (d *decoder) strMap(name string) map[string]types.AttributeValue {
	v, ok := d.item[name]
	if !ok {
		return nil
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		d.fail(name, "want a map (M), got %s", typeName(v))
		return nil
	}
	return m.Value
}

func decodeCircuit(item map[string]types.AttributeValue) (circuit.Circuit, error) {
	d := &decoder{item: item}
	var c circuit.Circuit
	c.ID = d.str(attrPK, true)
	var err error
	if c.State, err = circuit.ParseState(d.str("state", true)); err != nil && d.item["state"] != nil {
		d.fail("state", "%v", err)
	}
	if c.Override, err = circuit.ParseOverride(d.str("override", false)); err != nil {
		d.fail("override", "%v", err)
	}
	c.Version = d.int("version", true)
	if c.Version < 1 && d.item["version"] != nil {
		d.fail("version", "want ≥ 1, got %d", c.Version)
	}
	c.OpenCount = int(d.int("openCount", false))
	c.ConsecutiveFailures = int(d.int("consecutiveFailures", false))
	c.ProbeSuccesses = int(d.int("probeSuccesses", false))
	c.Reason = d.str("reason", false)
	c.Since = d.time("since")
	c.RetryAt = d.time("retryAt")
	c.UpdatedAt = d.time("updatedAt")
	c.CheckedAt = d.time("checkedAt")
	c.BadSince = d.time("badSince")
	c.BadUntil = d.time("badUntil")
	c.LastLatencyMs = d.int("lastLatencyMs", false)
	c.LastError = d.str("lastError", false)
	for permit, v := range d.strMap("probes") {
		n, ok := v.(*types.AttributeValueMemberN)
		until, perr := int64(0), error(nil)
		if ok {
			until, perr = strconv.ParseInt(n.Value, 10, 64)
		}
		if !ok || perr != nil {
			d.fail("probes", "permit %q: want epoch milliseconds (N)", permit)
			continue
		}
		c.Probes = append(c.Probes, circuit.Probe{Permit: permit, Until: time.UnixMilli(until).UTC()})
	}
	sortProbes(c.Probes)
	c.Unpublished = d.transitions("unpublished")
	c.WriteTokens = d.writeTokens()
	if pm := d.strMap("policy"); pm != nil {
		c.Policy = make(map[string]string, len(pm))
		for k, v := range pm {
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				d.fail("policy", "key %q: want a string (S), got %s", k, typeName(v))
				continue
			}
			c.Policy[k] = s.Value
		}
	}
	if c.ID != "" {
		if err := circuit.ValidateID(c.ID); err != nil {
			d.errs = append(d.errs, err)
		}
	}
	if len(d.errs) > 0 {
		return circuit.Circuit{}, fmt.Errorf("store: circuit item pk=%q sk=%q is not valid: %w", c.ID, skCircuit, errors.Join(d.errs...))
	}
	return c, nil
}

// writeTokens reads the marks of the item's latest writes: the list, or, on an item written before
// there was one, its last write's mark alone.
func (d *decoder) writeTokens() []string {
	v, ok := d.item[attrWriteTokens]
	if !ok {
		if last := d.str(attrWriteToken, false); last != "" {
			return []string{last}
		}
		return nil
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		d.fail(attrWriteTokens, "want a list (L), got %s", typeName(v))
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for i, e := range l.Value {
		s, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			d.fail(attrWriteTokens, "entry %d: want a string (S), got %s", i, typeName(e))
			continue
		}
		out = append(out, s.Value)
	}
	return out
}

// transitions reads a list of transitions (the events outbox); a malformed entry is an error.
func (d *decoder) transitions(name string) []circuit.Transition {
	v, ok := d.item[name]
	if !ok {
		return nil
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		d.fail(name, "want a list (L), got %s", typeName(v))
		return nil
	}
	out := make([]circuit.Transition, 0, len(l.Value))
	for i, e := range l.Value {
		m, ok := e.(*types.AttributeValueMemberM)
		if !ok {
			d.fail(name, "entry %d: want a map (M), got %s", i, typeName(e))
			continue
		}
		sub := &decoder{item: m.Value}
		tr := circuit.Transition{From: sub.str("from", false), To: sub.str("to", true), Reason: sub.str("reason", false), At: sub.time("at"), Version: sub.int("version", true)}
		if len(sub.errs) > 0 {
			d.fail(name, "entry %d: %v", i, errors.Join(sub.errs...))
			continue
		}
		out = append(out, tr)
	}
	return out
}

// sortProbes orders probes by lease end, then permit, so a decoded circuit is deterministic.
func sortProbes(p []circuit.Probe) {
	slices.SortFunc(p, func(a, b circuit.Probe) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return strings.Compare(a.Permit, b.Permit)
	})
}

func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	}
	return fmt.Sprintf("%T", v)
}
