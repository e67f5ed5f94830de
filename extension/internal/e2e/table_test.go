package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// A table that does not exist (a misspelt BREAKERBOX_TABLE, another region) fails the init through
// /init/error, naming the table and what to check, instead of a start that answers 503 and
// "stale":true with no cause.
// With circuits to prefetch their reads tell; without, one read of a key no item uses.
func TestWrongTableFailsTheInit(t *testing.T) {
	for _, prefetch := range []string{"", "inventory,payments"} {
		t.Run("BREAKERBOX_CIRCUITS="+prefetch, func(t *testing.T) {
			r := newRig(t, rigOptions{Env: []string{"BREAKERBOX_TABLE=breakerbox-typo", "BREAKERBOX_CIRCUITS=" + prefetch}})
			_, err := r.invokeRaw(get("/healthz"))
			var ie *lambdaenv.InvokeError
			if !errors.As(err, &ie) || ie.Type != "Extension.InitError" {
				t.Fatalf("invoke: %v, want an Extension.InitError", err)
			}
			for _, want := range []string{"BREAKERBOX_TABLE=breakerbox-typo", "does not exist", "region us-east-1 (AWS_REGION)"} {
				if !strings.Contains(ie.Message, want) {
					t.Errorf("init error %q does not say %q", ie.Message, want)
				}
			}
		})
	}
}

// DynamoDB unreachable at init is not a wrong table: the init goes on, the fail mode answers, and
// the answers say why.
func TestUnreachableDynamoDBAtInitStartsAndSaysWhy(t *testing.T) {
	nowhere := fmt.Sprintf("AWS_ENDPOINT_URL=http://127.0.0.1:%d", testkit.FreePort(t))
	r := newRig(t, rigOptions{Env: []string{nowhere, "BREAKERBOX_STORE_TIMEOUT=2s", "BREAKERBOX_CIRCUITS=inventory"}})
	res := r.invoke(
		get("/healthz"),
		get("/v1/circuits/inventory"),
		post("/v1/circuits/payments/acquire", ""),
	).Results
	if res[0].Status != 200 {
		t.Fatalf("healthz: %d %s", res[0].Status, res[0].Body)
	}
	// Connection refused, retried by the SDK until the store timeout: either cause is the truth.
	cause := func(s string) bool {
		return strings.Contains(s, "DynamoDB cannot be reached") || strings.Contains(s, "DynamoDB did not answer within BREAKERBOX_STORE_TIMEOUT")
	}
	if res[1].Status != 503 || errorCode(t, res[1]) != "store_unavailable" || !cause(string(res[1].Body)) {
		t.Errorf("GET with DynamoDB unreachable: %d %s, want 503 store_unavailable with the cause", res[1].Status, res[1].Body)
	}
	d := decode[decision](t, res[2])
	if !d.Allowed || d.State != "UNKNOWN" || !strings.Contains(d.Reason, "fail mode open: ") || !cause(d.Reason) {
		t.Errorf("acquire with DynamoDB unreachable: %s, want the fail mode and the cause", res[2].Body)
	}
}

// A DynamoDB that takes the connection and never answers does not take the init with it. With
// BREAKERBOX_STORE_TIMEOUT at 90 s, the table check (no circuits to prefetch) or the prefetch would
// each wait past the init's limit (Lambda's is 10 s; the rig allows a minute, for a loaded machine)
// and fail the function's init; bounded together at the extension's init budget, it starts.
func TestHangingDynamoDBAtInitDoesNotFailTheInit(t *testing.T) {
	hang := "AWS_ENDPOINT_URL=" + testkit.HangingEndpoint(t)
	for _, prefetch := range []string{"", "inventory,payments"} {
		t.Run("BREAKERBOX_CIRCUITS="+prefetch, func(t *testing.T) {
			r := newRig(t, rigOptions{Env: []string{hang, "BREAKERBOX_STORE_TIMEOUT=90s", "BREAKERBOX_CIRCUITS=" + prefetch}})
			res, err := r.invokeRaw(get("/healthz"))
			if err != nil {
				t.Fatalf("invoke with DynamoDB hanging at init: %v, want the init to go on", err)
			}
			if res.Results[0].Status != 200 {
				t.Errorf("healthz: %d %s", res.Results[0].Status, res.Results[0].Body)
			}
		})
	}
}
