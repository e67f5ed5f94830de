package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

// TestPolicySetShowClear: an operator gives one circuit its own knobs, sees them in policy show and
// circuits, and takes them away again; the deciders read the same map from the item.
func TestPolicySetShowClear(t *testing.T) {
	c := newCtl(t)
	c.must("force-closed", "inventory", "--reason", "pinned while tuning")

	out := c.must("policy", "set", "inventory", "failureRate=30", "openDuration=1m")
	if !strings.Contains(out, "inventory: policy set (version 2)") {
		t.Fatalf("policy set:\n%s", out)
	}
	var got policyView
	if err := json.Unmarshal([]byte(c.must("policy", "show", "inventory", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "inventory" || got.Version != 2 || len(got.Policy) != 2 || got.Policy["failureRate"] != "30" || got.Policy["openDuration"] != "1m" {
		t.Fatalf("policy show -o json: %+v", got)
	}
	show := c.must("policy", "show", "inventory")
	for _, want := range []string{"failureRate          BREAKERBOX_FAILURE_RATE", "30", "openDuration", "1m", "minCalls", "- (the variable, else its default)"} {
		if !strings.Contains(show, want) {
			t.Errorf("policy show lacks %q:\n%s", want, show)
		}
	}
	for _, k := range circuit.Knobs() { // every knob of the model is listed, with its variable
		if !strings.Contains(show, k.Key) || !strings.Contains(show, k.Env) {
			t.Errorf("policy show lacks the knob %s (%s):\n%s", k.Key, k.Env, show)
		}
	}
	if list := c.must("circuits"); !strings.Contains(list, "OWN POLICY") || !strings.Contains(list, "failureRate=30,openDuration=1m") {
		t.Errorf("circuits does not show the own policy:\n%s", list)
	}

	// The item holds what the deciders apply, and the override and state are untouched.
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	st := store.New(db, c.env["BREAKERBOX_TABLE"], store.Options{Timeout: 10 * time.Second})
	item, err := st.GetConsistent(context.Background(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.PolicyFor(circuit.DefaultPolicy(), item)
	if err != nil || p.FailureRate != 0.30 || p.OpenDuration != time.Minute || p.MinCalls != circuit.DefaultPolicy().MinCalls {
		t.Errorf("the deciders apply %+v (%v)", p, err)
	}
	if item.Override != circuit.ForcedClosed || !strings.Contains(item.Reason, "pinned while tuning") {
		t.Errorf("setting a policy changed the circuit: %+v", item)
	}

	// A second set merges; the same values again write nothing.
	c.must("policy", "set", "inventory", "minCalls=20")
	if out := c.must("policy", "set", "inventory", "minCalls=20"); !strings.Contains(out, "policy unchanged (version 3)") {
		t.Errorf("same value again:\n%s", out)
	}
	c.must("policy", "clear", "inventory", "failureRate")
	got = policyView{} // Unmarshal adds to a map it is given
	if err := json.Unmarshal([]byte(c.must("policy", "show", "inventory", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Policy) != 2 || got.Policy["minCalls"] != "20" || got.Policy["openDuration"] != "1m" {
		t.Errorf("after clear failureRate: %+v", got)
	}
	if out := c.must("policy", "clear", "inventory"); !strings.Contains(out, "policy cleared") {
		t.Errorf("clear all:\n%s", out)
	}
	got = policyView{}
	if err := json.Unmarshal([]byte(c.must("policy", "show", "inventory", "-o", "json")), &got); err != nil || got.Policy != nil {
		t.Errorf("after clear: %+v %v", got, err)
	}

	// set on a circuit nobody has used yet creates it CLOSED with its knobs.
	c.must("policy", "set", "geo", "consecutiveFailures=5")
	item, err = st.GetConsistent(context.Background(), "geo")
	if err != nil || item.State != circuit.Closed || item.Policy["consecutiveFailures"] != "5" {
		t.Errorf("new circuit: %+v %v", item, err)
	}
}

// TestPolicyRefusesBadValues: a bad knob or value is refused with what is wrong and what is wanted,
// and nothing is written.
func TestPolicyRefusesBadValues(t *testing.T) {
	c := newCtl(t)
	c.must("policy", "set", "inventory", "openDuration=5m")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"policy", "set", "inventory", "failureRate=0.3"}, exitUsage, `policy failureRate="0.3": out of range: give a percentage from 1 to 100, e.g. 50`},
		{[]string{"policy", "set", "inventory", "failurRate=30"}, exitUsage, `unknown policy key "failurRate": want one of`},
		{[]string{"policy", "set", "inventory", "window=10s"}, exitUsage, "window must be a multiple of 6s"},
		{[]string{"policy", "set", "inventory", "minCalls"}, exitUsage, `"minCalls" is not KEY=VALUE`},
		{[]string{"policy", "set", "inventory"}, exitUsage, "needs at least one KEY=VALUE"},
		{[]string{"policy", "set", "inventory", "minCalls=2", "minCalls=3"}, exitUsage, "minCalls given twice"},
		// valid alone, invalid with the circuit's own openDuration=5m: checked inside the write
		{[]string{"policy", "set", "inventory", "maxOpenDuration=2m"}, exitError, `circuit "inventory": policy maxOpenDuration must be at least openDuration; nothing was written`},
		{[]string{"policy", "clear", "inventory", "minCalls"}, exitError, `circuit "inventory" has no own minCalls (its own knobs: openDuration=5m)`},
		{[]string{"policy", "clear", "inventory", "nope"}, exitError, `unknown policy key "nope"`},
		{[]string{"policy", "clear", "missing"}, exitError, `no circuit "missing" in table`},
		{[]string{"policy", "show", "missing"}, exitError, `no circuit "missing" in table`},
		{[]string{"policy", "drop", "inventory"}, exitUsage, `unknown policy subcommand "drop"`},
		{[]string{"policy"}, exitUsage, "policy needs a subcommand"},
	}
	for _, tc := range cases {
		out, errOut, code := c.run(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("breakerctl %s: exit %d, stderr %q, stdout %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, out, tc.code, tc.want)
		}
	}
	var got policyView
	if err := json.Unmarshal([]byte(c.must("policy", "show", "inventory", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || len(got.Policy) != 1 || got.Policy["openDuration"] != "5m" {
		t.Errorf("a refused command wrote: %+v", got)
	}
	if _, errOut, code := c.run("policy", "show", "inventory"); code != 0 || errOut != "" {
		t.Errorf("show: %d %s", code, errOut)
	}
	c.env["BREAKERBOX_MIN_CALLS"] = "zero"
	if _, errOut, code := c.run("policy", "set", "inventory", "failureRate=30"); code != exitUsage || !strings.Contains(errOut, `BREAKERBOX_MIN_CALLS="zero"`) {
		t.Errorf("bad variable in breakerctl's environment: exit %d, %s", code, errOut)
	}
}
