package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestGlobalFlagsBeforeEveryCommand: the flags every command takes may come before any command,
// as the help says, policy's and monitor's subcommands included.
func TestGlobalFlagsBeforeEveryCommand(t *testing.T) {
	c := newCtl(t)
	c.env["BREAKERBOX_CHECKER_ARN"] = checkerARN
	table := c.env["BREAKERBOX_TABLE"]
	delete(c.env, "BREAKERBOX_TABLE")
	id := fmt.Sprintf("globals-%d", seq.Add(1))

	out := c.must("--table", table, "-o", "json", "policy", "set", id, "failureRate=30")
	var pv policyView
	if err := json.Unmarshal([]byte(out), &pv); err != nil || pv.Policy["failureRate"] != "30" {
		t.Fatalf("--table T -o json policy set: %v %q", err, out)
	}
	if out := c.must("--table", table, "policy", "show", id); !strings.Contains(out, "failureRate") {
		t.Errorf("--table T policy show: %q", out)
	}
	c.must("--table", table, "monitor", "add", "--id", id, "--url", "https://api.example.com/health")
	out = c.must("-o", "json", "monitor", "list")
	var ml struct{ Monitors []monitorView }
	if err := json.Unmarshal([]byte(out), &ml); err != nil {
		t.Fatalf("-o json monitor list: %v %q", err, out)
	}
	c.must("--aws-timeout", "20s", "monitor", "remove", id)
	// A flag after the command still wins over the same flag before it.
	if _, errOut, code := c.run("--table", "no-such-table", "policy", "show", id, "--table", table); code != 0 {
		t.Errorf("--table before and after policy show: exit %d %q", code, errOut)
	}
}
