package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

func TestForceGetCircuitsClear(t *testing.T) {
	c := newCtl(t)
	if out := c.must("circuits"); !strings.Contains(out, "no circuits in table") {
		t.Fatalf("empty table: %q", out)
	}
	out := c.must("force-open", "payments", "--reason", "provider maintenance")
	if !strings.Contains(out, "payments: new → FORCED_OPEN (version 1): FORCED_OPEN: provider maintenance") {
		t.Fatalf("force-open: %q", out)
	}
	out = c.must("circuits")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "payments") || !strings.Contains(lines[1], "FORCED_OPEN") {
		t.Fatalf("circuits table:\n%s", out)
	}
	var got circuitView
	if err := json.Unmarshal([]byte(c.must("get", "-o", "json", "payments")), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "payments" || got.Override != "FORCED_OPEN" || got.Effective != "OPEN" || got.Version != 1 || got.Since == "" {
		t.Fatalf("get -o json: %+v", got)
	}
	if out := c.must("get", "payments"); !strings.Contains(out, "FORCED_OPEN: provider maintenance") {
		t.Fatalf("get: %s", out)
	}
	var list struct{ Circuits []circuitView }
	if err := json.Unmarshal([]byte(c.must("circuits", "-o", "json")), &list); err != nil || len(list.Circuits) != 1 {
		t.Fatalf("circuits -o json: %+v %v", list, err)
	}
	var res forceResult
	if err := json.Unmarshal([]byte(c.must("clear", "payments", "-o", "json", "--reason", "done")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Transition == nil || res.Transition.From != "FORCED_OPEN" || res.Transition.To != "CLOSED" || res.Circuit.Version != 2 ||
		res.PublishError != "" {
		t.Fatalf("clear -o json: %+v", res)
	}
	if out := c.must("clear", "payments"); !strings.Contains(out, "already CLOSED") {
		t.Fatalf("clear again: %q", out)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	c := newCtl(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"force-open", "x"}, exitUsage, "force-open needs --reason"},
		{[]string{"force-open", "x", "--reason", "  \t "}, exitUsage, "force-open needs --reason"},
		{[]string{"get"}, exitUsage, "want exactly one circuit id"},
		{[]string{"get", "no such"}, exitUsage, "invalid circuit id"},
		{[]string{"get", "missing"}, exitError, `no circuit "missing" in table`},
		{[]string{"circuits", "-o", "yaml"}, exitUsage, `-o "yaml": want table or json`},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"monitor"}, exitUsage, "monitor needs add, list or remove"},
		{[]string{"monitor", "add", "--id", "x"}, exitUsage, "needs --id and --url"},
		{[]string{"monitor", "add", "--id", "x", "--url", "http://x"}, exitUsage, "needs the checker's ARN"},
		{[]string{"monitor", "add", "--id", "x", "--url", "http://x", "--checker-arn", "arn:x", "--every", "30s"}, exitUsage, "whole minutes"},
		{[]string{"monitor", "add", "--id", "x", "--url", "ftp://x", "--checker-arn", "arn:x"}, exitUsage, `unsupported scheme "ftp"`},
		{[]string{"monitor", "remove", "ghost"}, exitError, `no monitor for "ghost"`},
		{[]string{"clear", "typo"}, exitError, `no circuit "typo" in table`},
		{[]string{"--reason", "x", "force-open", "y"}, exitUsage, "only --table, -o, --aws-timeout and --bus may come before it"},
		{[]string{"--table", "x"}, exitUsage, "no command after --table x"},
	}
	for _, tc := range cases {
		_, errOut, code := c.run(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("breakerctl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
	// clear on an unknown id refused, and created nothing.
	if _, errOut, code := c.run("get", "typo"); code != exitError || !strings.Contains(errOut, `no circuit "typo"`) {
		t.Errorf("after clear typo: get typo exit %d %q, want the circuit still unknown", code, errOut)
	}
	// A table that does not exist says so and what to check.
	if _, errOut, code := c.run("circuits", "--table", "no-such-table"); code != exitError ||
		!strings.Contains(errOut, `table "no-such-table" does not exist at the endpoint http://127.0.0.1:`) ||
		!strings.Contains(errOut, "'breakerctl create-table' creates it") {
		t.Errorf("missing table: exit %d %q", code, errOut)
	}
	table := c.env["BREAKERBOX_TABLE"]
	delete(c.env, "BREAKERBOX_TABLE")
	// The flags every command takes may come before the command.
	if out, errOut, code := c.run("--table", table, "-o", "json", "circuits"); code != 0 || !strings.Contains(out, `"circuits"`) {
		t.Errorf("breakerctl --table %s -o json circuits: exit %d %q %q", table, code, out, errOut)
	}
	if out, errOut, code := c.run("--table="+table, "get", "typo", "--table", "other"); code != exitError || !strings.Contains(errOut, `table "other" does not exist`) {
		t.Errorf("a flag after the command wins over the same flag before it: exit %d %q %q", code, out, errOut)
	}
	if _, errOut, code := c.run("circuits"); code != exitUsage || !strings.Contains(errOut, "pass --table NAME or set BREAKERBOX_TABLE") {
		t.Errorf("no table: exit %d %q", code, errOut)
	}
}

// An item that cannot be read is named, the readable circuits are still listed, and the exit status
// says the list is incomplete: a script reading `circuits -o json` never takes it for the table.
func TestCircuitsWithAnUnreadableItemFails(t *testing.T) {
	c := newCtl(t)
	c.must("force-open", "payments", "--reason", "maintenance")
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(c.env["BREAKERBOX_TABLE"]),
		Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "mangled"}, "sk": &types.AttributeValueMemberS{Value: "circuit"},
			"state": &types.AttributeValueMemberS{Value: "BOGUS"}, "version": &types.AttributeValueMemberN{Value: "1"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"circuits"}, {"circuits", "-o", "json"}} {
		out, errOut, code := c.run(args...)
		if code != exitError || !strings.Contains(out, "payments") || !strings.Contains(errOut, "incomplete") || !strings.Contains(errOut, "mangled") {
			t.Errorf("breakerctl %s: exit %d, stdout %q, stderr %q; want exit %d, payments listed, and the unreadable item named",
				strings.Join(args, " "), code, out, errOut, exitError)
		}
	}
}
