package circuit

import (
	"maps"
	"time"
)

// SetPolicy gives the circuit m as its own policy map (nil or empty removes it), after checking m
// over base exactly as the deciders will apply it (Policy.WithOverrides): an unknown key or a bad
// value is an error naming it, and prev is left as it was. A circuit that does not exist yet is
// created CLOSED, as its first observation would create it. Changing only the policy is not a
// transition: the state, its reason and its counts stay.
func SetPolicy(prev Circuit, base Policy, m map[string]string, now time.Time) (Result, error) {
	if _, err := base.WithOverrides(m); err != nil {
		return Result{Circuit: prev}, err
	}
	if len(m) == 0 {
		m = nil
	}
	c := prev
	changed := false
	if !c.Exists() {
		c.State, c.Since, c.Reason = Closed, now, "created by operator with its own policy"
		changed = true
	}
	if !maps.Equal(c.Policy, m) {
		c.Policy = maps.Clone(m)
		changed = true
	}
	return finish(prev, c, changed, Transition{}, now), nil
}
