package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// policyView is what the policy commands print with -o json: the circuit's own policy map (keys as
// in circuit.Knobs; absent when the circuit has none) and the version of the item that holds it.
type policyView struct {
	ID      string            `json:"id"`
	Version int64             `json:"version"`
	Policy  map[string]string `json:"policy,omitempty"`
}

// errNoCircuit is clear's answer for an id the table does not hold.
var errNoCircuit = errors.New("no such circuit")

// runPolicy shows, sets or clears one circuit's own policy map, the knobs that apply over the
// BREAKERBOX_* variables of every part that decides for it. Values are checked as the deciders
// check them (circuit.Policy.WithOverrides, through circuit.SetPolicy) before anything is written,
// and written with the store's conditional write, so a concurrent transition is never lost.
func runPolicy(ctx context.Context, a *app, args []string) error {
	if err := a.groupHelp("policy", "a subcommand: show ID, set ID KEY=VALUE..., or clear ID [KEY...]", "breakerctl policy show inventory -o json", args); err != nil {
		return err
	}
	sub, args := args[0], args[1:]
	fs := a.flags("policy " + sub)
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "show", "set", "clear":
	default:
		return usagef("unknown policy subcommand %q: want show, set or clear", sub)
	}
	if len(pos) == 0 {
		return usagef("policy %s needs a circuit id, e.g. breakerctl policy %s inventory", sub, sub)
	}
	id, rest := pos[0], pos[1:]
	if err := circuit.ValidateID(id); err != nil {
		return usagef("%v", err)
	}
	base, err := circuit.PolicyFromEnv(circuit.DefaultPolicy(), a.env.Getenv)
	if err != nil {
		return usagef("the policy variables in breakerctl's environment, over which a circuit's own knobs are checked: %v", err)
	}
	switch sub {
	case "show":
		if len(rest) > 0 {
			return usagef("policy show takes one circuit id; got %d arguments", len(pos))
		}
		return a.policyShow(ctx, id)
	case "set":
		pairs, err := knobPairs(rest)
		if err != nil {
			return err
		}
		// The values alone are checked before any AWS call; merged with the circuit's map, again
		// inside the conditional write.
		if _, err := base.WithOverrides(pairs); err != nil {
			return usagef("%v", err)
		}
		return a.policyWrite(ctx, id, "set", func(prev circuit.Circuit) (map[string]string, error) {
			m := maps.Clone(prev.Policy)
			if m == nil {
				m = map[string]string{}
			}
			maps.Copy(m, pairs)
			return m, nil
		}, base)
	default: // clear
		return a.policyWrite(ctx, id, "clear", func(prev circuit.Circuit) (map[string]string, error) {
			if !prev.Exists() {
				return nil, errNoCircuit
			}
			if len(rest) == 0 {
				return nil, nil
			}
			m := maps.Clone(prev.Policy)
			for _, key := range rest {
				if _, ok := m[key]; ok {
					delete(m, key)
					continue
				}
				if !isKnob(key) {
					return nil, fmt.Errorf("unknown policy key %q: want one of %s", key, strings.Join(circuit.OverrideKeys(), ", "))
				}
				return nil, fmt.Errorf("circuit %q has no own %s (its own knobs: %s): nothing was written", id, key, orDash(joinPolicy(prev.Policy)))
			}
			return m, nil
		}, base)
	}
}

// knobPairs reads set's KEY=VALUE arguments.
func knobPairs(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, usagef("policy set needs at least one KEY=VALUE after the id, e.g. breakerctl policy set inventory failureRate=30 openDuration=1m; keys: %s", strings.Join(circuit.OverrideKeys(), ", "))
	}
	pairs := map[string]string{}
	for _, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || value == "" {
			return nil, usagef("%q is not KEY=VALUE: e.g. failureRate=30 (to remove a knob: breakerctl policy clear ID KEY)", arg)
		}
		if _, dup := pairs[key]; dup {
			return nil, usagef("%s given twice: give each knob once", key)
		}
		pairs[key] = value
	}
	return pairs, nil
}

func (a *app) policyShow(ctx context.Context, id string) error {
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	c, err := st.GetConsistent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no circuit %q in table %s: 'breakerctl circuits' lists the ids (policy set creates it)", id, a.table)
	}
	if err != nil {
		return err
	}
	return a.printPolicy(c)
}

// policyWrite writes the map next(prev) as the circuit's own policy through a conditional write,
// re-deciding from the winner's item after a lost race.
func (a *app) policyWrite(ctx context.Context, id, verb string, next func(prev circuit.Circuit) (map[string]string, error), base circuit.Policy) error {
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	res, err := st.Update(ctx, id, func(prev circuit.Circuit) (circuit.Result, error) {
		m, err := next(prev)
		if err != nil {
			return circuit.Result{}, err
		}
		res, err := circuit.SetPolicy(prev, base, m, now)
		if err != nil {
			return circuit.Result{}, fmt.Errorf("circuit %q: %w; nothing was written", id, err)
		}
		return res, nil
	})
	if errors.Is(err, errNoCircuit) {
		return fmt.Errorf("no circuit %q in table %s: nothing to clear; 'breakerctl circuits' lists the ids", id, a.table)
	}
	if err != nil {
		return err
	}
	if a.output != "json" {
		if res.Changed {
			fmt.Fprintf(a.stdout, "%s: policy %s (version %d)\n", id, map[string]string{"set": "set", "clear": "cleared"}[verb], res.Circuit.Version)
		} else {
			fmt.Fprintf(a.stdout, "%s: policy unchanged (version %d)\n", id, res.Circuit.Version)
		}
	}
	return a.printPolicy(res.Circuit)
}

// printPolicy shows every knob, the circuit's own value where it has one; the others come from the
// environment of each part that decides (BREAKERBOX_* variables, else the defaults).
func (a *app) printPolicy(c circuit.Circuit) error {
	if a.output == "json" {
		return writeJSON(a.stdout, policyView{ID: c.ID, Version: c.Version, Policy: c.Policy})
	}
	t := newTable(a.stdout, "KNOB", "VARIABLE", "CIRCUIT'S OWN VALUE")
	for _, k := range circuit.Knobs() {
		v, ok := c.Policy[k.Key]
		if !ok {
			v = "- (the variable, else its default)"
		}
		t.row(k.Key, k.Env, v)
	}
	// keys the model does not know (written by hand): shown, so clear can remove them
	for _, key := range sortedKeys(c.Policy) {
		if !isKnob(key) {
			t.row(key, "(not a knob)", c.Policy[key])
		}
	}
	return t.flush()
}

func isKnob(key string) bool {
	for _, k := range circuit.Knobs() {
		if k.Key == key {
			return true
		}
	}
	return false
}

// joinPolicy writes a policy map as key=value pairs in key order, for one table cell.
func joinPolicy(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
