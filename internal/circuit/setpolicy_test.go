package circuit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSetPolicyChecksTheMapAsTheDecidersApplyIt(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	prev := Circuit{ID: "inventory", State: Open, Since: now.Add(-time.Minute), Reason: "failure rate 60% ≥ 50% over 10 calls; open for 30s", Version: 7}

	res, err := SetPolicy(prev, DefaultPolicy(), map[string]string{"failureRate": "30", "openDuration": "1m"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Circuit.Version != 8 || res.Transition.Happened() {
		t.Fatalf("set: changed=%v version=%d transition=%+v; want a new version and no transition", res.Changed, res.Circuit.Version, res.Transition)
	}
	if res.Circuit.State != Open || res.Circuit.Reason != prev.Reason || !res.Circuit.Since.Equal(prev.Since) {
		t.Errorf("a policy change moved the state: %+v", res.Circuit)
	}
	if p, err := DefaultPolicy().WithOverrides(res.Circuit.Policy); err != nil || p.FailureRate != 0.30 || p.OpenDuration != time.Minute {
		t.Errorf("stored policy %v applies as %+v, %v", res.Circuit.Policy, p, err)
	}

	again, err := SetPolicy(res.Circuit, DefaultPolicy(), map[string]string{"openDuration": "1m", "failureRate": "30"}, now)
	if err != nil || again.Changed {
		t.Errorf("the same map again: changed=%v err=%v; want no write", again.Changed, err)
	}
	cleared, err := SetPolicy(res.Circuit, DefaultPolicy(), nil, now)
	if err != nil || !cleared.Changed || cleared.Circuit.Policy != nil {
		t.Errorf("clear: %+v, %v", cleared, err)
	}

	for m, want := range map[string]map[string]string{
		`unknown policy key "failurRate"`:  {"failurRate": "30"},
		"failureRate":                      {"failureRate": "0.3"},
		"maxOpenDuration must be at least": {"openDuration": "20m"}, // over the default 10m maximum
		"window must be a multiple of 6s":  {"window": "10s"},
	} {
		_, err := SetPolicy(res.Circuit, DefaultPolicy(), want, now)
		if err == nil || !strings.Contains(err.Error(), m) {
			t.Errorf("SetPolicy(%v) = %v, want an error containing %q", want, err, m)
		}
	}
}

func TestSetPolicyCreatesAMissingCircuitClosed(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	res, err := SetPolicy(Circuit{ID: "geo"}, DefaultPolicy(), map[string]string{"minCalls": "20"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Circuit
	if !res.Changed || c.Version != 1 || c.State != Closed || !c.Since.Equal(now) || c.Policy["minCalls"] != "20" || res.Transition.Happened() {
		t.Errorf("created %+v (transition %+v)", c, res.Transition)
	}
}

func TestKnobsAreTheTableThatParses(t *testing.T) {
	ks := Knobs()
	if len(ks) != len(OverrideKeys()) || len(ks) != len(EnvVars()) {
		t.Fatalf("Knobs lists %d, OverrideKeys %d, EnvVars %d", len(ks), len(OverrideKeys()), len(EnvVars()))
	}
	for _, k := range ks {
		// a knob set by its key and by its variable to the same value gives the same policy: the
		// first of these values the knob takes, and that changes the defaults, is the probe
		found := false
		for _, value := range []string{"40", "4", "120s", "2m", "3"} {
			byKey, err := DefaultPolicy().WithOverrides(map[string]string{k.Key: value})
			if err != nil || reflect.DeepEqual(byKey, DefaultPolicy()) {
				continue
			}
			found = true
			byEnv, err := PolicyFromEnv(DefaultPolicy(), func(name string) string {
				if name == k.Env {
					return value
				}
				return ""
			})
			if err != nil || !reflect.DeepEqual(byKey, byEnv) {
				t.Errorf("%s=%q gives %+v, %s=%q gives %+v (%v)", k.Key, value, byKey, k.Env, value, byEnv, err)
			}
			break
		}
		if !found {
			t.Errorf("knob %s (%s) took none of the probe values: add one it takes", k.Key, k.Env)
		}
	}
}
