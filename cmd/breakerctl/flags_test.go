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

// TestFlagGivenTwiceIsRefused: the flag package keeps the last of two values without a word, so
// "monitor add --id a ... --id b" created the monitor of b. A flag given twice is a usage error,
// and nothing is written; --header alone is repeatable.
func TestFlagGivenTwiceIsRefused(t *testing.T) {
	c := newCtl(t)
	c.env["BREAKERBOX_CHECKER_ARN"] = checkerARN
	a, b := fmt.Sprintf("twice-a-%d", seq.Add(1)), fmt.Sprintf("twice-b-%d", seq.Add(1))
	for _, args := range [][]string{
		{"monitor", "add", "--id", a, "--url", "http://x", "--id", b},
		{"monitor", "add", "--id", a, "--url", "http://x", "--every", "1m", "--every=5m"},
		{"force-open", a, "--reason", "one", "--reason", "two"},
		{"force-closed", a, "--table", "t1", "--table=t2"},
		{"policy", "set", a, "failureRate=30", "-o", "json", "--output", "table"},
		{"--table", "t1", "--table", "t2", "get", a},
	} {
		_, errOut, code := c.run(args...)
		if code != exitUsage || !strings.Contains(errOut, "given twice") {
			t.Errorf("breakerctl %s: exit %d, stderr %q; want exit %d, given twice", strings.Join(args, " "), code, errOut, exitUsage)
		}
	}
	if out := c.must("monitor", "list"); strings.Contains(out, a) || strings.Contains(out, b) {
		t.Errorf("a refused monitor add wrote a rule:\n%s", out)
	}
	if _, errOut, code := c.run("get", a); code != exitError || !strings.Contains(errOut, "no circuit") {
		t.Errorf("a refused force-open wrote the circuit: exit %d %q", code, errOut)
	}
	out := c.must("monitor", "add", "--id", a, "--url", "http://x", "--header", "A: 1", "--header", "B: 2")
	if !strings.Contains(out, `"headers":{"A":"***","B":"***"}`) {
		t.Errorf("--header twice: %q", out)
	}
	c.must("monitor", "remove", a)
}

// TestFlagMistakesAreSaidOnce: a mistake in a flag is said once, with what is wrong and what to
// do, not followed by every flag's help and said again; -h still lists the flags.
func TestFlagMistakesAreSaidOnce(t *testing.T) {
	c := newCtl(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "x", "--aws-timeout", "5"}, `invalid value "5" for flag -aws-timeout: not a duration: write it as Go does, with its unit, e.g. 10s`},
		{[]string{"watch", "--interval", "soon"}, `invalid value "soon" for flag -interval: not a duration`},
		{[]string{"monitor", "add", "--every", "1"}, `invalid value "1" for flag -every: not a duration`},
		{[]string{"get", "x", "--bogus"}, `unknown flag -bogus: 'breakerctl get -h' lists this command's flags`},
	} {
		_, errOut, code := c.run(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 2 || strings.Contains(errOut, "Usage of") {
			t.Errorf("breakerctl %s: exit %d, stderr %q; want exit %d and only %q with the pointer to help", strings.Join(tc.args, " "), code, errOut, exitUsage, tc.want)
		}
	}
	if _, errOut, code := c.run("get", "-h"); code != exitOK || !strings.Contains(errOut, "-aws-timeout duration") {
		t.Errorf("get -h: exit %d %q", code, errOut)
	}
}

// TestForceCannotSkipThePublish: every transition is published to EventBridge, whichever part
// makes it; an undocumented --publish=false let an override go unannounced to the ventilators'
// wake-up rules. It is refused, and nothing is written.
func TestForceCannotSkipThePublish(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("nopublish-%d", seq.Add(1))
	if _, errOut, code := c.run("force-open", id, "--reason", "r", "--publish=false"); code != exitUsage || !strings.Contains(errOut, "unknown flag -publish") {
		t.Errorf("force-open --publish=false: exit %d %q, want exit %d, unknown flag", code, errOut, exitUsage)
	}
	if _, errOut, code := c.run("get", id); code != exitError || !strings.Contains(errOut, "no circuit") {
		t.Errorf("after a refused force-open: get exit %d %q, want no circuit", code, errOut)
	}
}

// TestSubcommandGroupsAnswerHelp: "policy -h" and "monitor --help" print the usage and exit 0,
// as "get -h" does, instead of "policy needs a subcommand"/"unknown monitor command \"--help\"";
// a flag where the subcommand goes says the subcommand comes first.
func TestSubcommandGroupsAnswerHelp(t *testing.T) {
	c := newCtl(t)
	for _, args := range [][]string{{"policy", "-h"}, {"monitor", "--help"}} {
		out, errOut, code := c.run(args...)
		if code != exitOK || !strings.Contains(out, "breakerctl policy set ID KEY=VALUE") {
			t.Errorf("breakerctl %s: exit %d, stdout %q, stderr %q; want the usage and exit 0", strings.Join(args, " "), code, out, errOut)
		}
	}
	for args, want := range map[string]string{
		"policy -o json show x": "before any flag, e.g. breakerctl policy show inventory -o json",
		"monitor -o json list":  "monitor needs add, list or remove before any flag, e.g. breakerctl monitor list -o json",
	} {
		if _, errOut, code := c.run(strings.Fields(args)...); code != exitUsage || !strings.Contains(errOut, want) {
			t.Errorf("breakerctl %s: exit %d %q, want exit %d and %q", args, code, errOut, exitUsage, want)
		}
	}
}

// TestMonitorAddRefusesACheckerInAnotherRegion: EventBridge accepts a Lambda target in another
// region and the schedule then never runs it; monitor add refuses it before writing the rule.
func TestMonitorAddRefusesACheckerInAnotherRegion(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("region-%d", seq.Add(1))
	other := strings.Replace(checkerARN, ":us-east-1:", ":eu-west-1:", 1)
	_, errOut, code := c.run("monitor", "add", "--id", id, "--url", "http://x", "--checker-arn", other)
	if want := "--checker-arn is in region eu-west-1 but the rule would be created in us-east-1 (AWS_REGION)"; code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("monitor add with a checker in eu-west-1: exit %d %q, want exit %d and %q", code, errOut, exitUsage, want)
	}
	if out := c.must("monitor", "list"); strings.Contains(out, id) {
		t.Errorf("the refused monitor was written:\n%s", out)
		c.must("monitor", "remove", id)
	}
}

// TestHelpAfterGlobalFlags: "breakerctl --table T help" answered 'unknown command "help"' and
// told the operator to run 'breakerctl help'; "-o" without its value was told that only --table,
// -o, --aws-timeout and --bus may come before the command, which it was.
func TestHelpAfterGlobalFlags(t *testing.T) {
	c := newCtl(t)
	for _, args := range [][]string{{"--table", "t", "help"}, {"-o", "json", "--help"}, {"--table", "t", "-h"}} {
		out, errOut, code := c.run(args...)
		if code != exitOK || !strings.Contains(out, "breakerctl operates breakerbox circuits") {
			t.Errorf("breakerctl %s: exit %d, stdout %q, stderr %q; want the usage, exit 0", strings.Join(args, " "), code, out, errOut)
		}
	}
	_, errOut, code := c.run("-o")
	if code != exitUsage || !strings.Contains(errOut, "flag needs an argument: -o") || strings.Contains(errOut, "only --table") {
		t.Errorf("breakerctl -o: exit %d %q", code, errOut)
	}
}

// TestWatchIntervalBoundIsTheOneSaid: watch refused --interval 10ms saying "use 1s or more" and
// took 100ms; it says the bound it applies.
func TestWatchIntervalBoundIsTheOneSaid(t *testing.T) {
	c := newCtl(t)
	_, errOut, code := c.run("watch", "--interval", "99ms")
	if want := "--interval 99ms is too short: each poll scans the table; use 100ms or more"; code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("watch --interval 99ms: exit %d %q, want exit %d and %q", code, errOut, exitUsage, want)
	}
}
