package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// The prefetched circuit is a cache hit on the function's first query, and every endpoint answers.
func TestPrefetchAndEveryEndpoint(t *testing.T) {
	r := newRig(t, rigOptions{Env: []string{"BREAKERBOX_CIRCUITS=inventory,nobody"}})
	since := time.Now().Add(-time.Hour).Truncate(time.Millisecond).UTC()
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: since, Reason: "2 successful probes"})

	rep := r.invoke(
		get("/v1/circuits/inventory"),
		get("/v1/stats"),
		get("/v1/circuits"),
		post("/v1/circuits/inventory/acquire", ""),
		post("/v1/circuits/inventory/outcomes", `{"outcomes":[{"ok":true,"latencyMs":12},{"ok":true,"latencyMs":8.5}]}`),
		step{Method: "GET", Path: "/healthz", Token: "-"},
		get("/v1/stats"),
	)
	res := rep.Results
	v := decode[view](t, res[0])
	if res[0].Status != 200 || v.ID != "inventory" || v.State != "CLOSED" || !v.Allowed || v.Stale || v.Version != 1 ||
		v.Since != since.Format("2006-01-02T15:04:05.000Z07:00") || v.Reason != "2 successful probes" {
		t.Errorf("GET inventory: %d %s", res[0].Status, res[0].Body)
	}
	st := decode[stats](t, res[1])
	if st.CacheHits != 1 || st.CacheMisses != 0 || st.StoreReads != 2 {
		t.Errorf("stats after the first query: %s, want 1 hit, 0 misses, 2 reads (the prefetch)", res[1].Body)
	}
	list := decode[struct{ Circuits []view }](t, res[2])
	if len(list.Circuits) != 1 || list.Circuits[0].ID != "inventory" {
		t.Errorf("list: %s", res[2].Body)
	}
	if d := decode[decision](t, res[3]); res[3].Status != 200 || !d.Allowed || d.State != "CLOSED" || d.Permit != "" {
		t.Errorf("acquire: %d %s", res[3].Status, res[3].Body)
	}
	if res[4].Status != 202 || string(res[4].Body) != `{"accepted":2}` {
		t.Errorf("outcomes: %d %s", res[4].Status, res[4].Body)
	}
	if res[5].Status != 200 || string(res[5].Body) != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s", res[5].Status, res[5].Body)
	}
	st = decode[stats](t, res[6])
	if st.OutcomesReceived != 2 || st.StoreWrites != 0 || st.StoreReads != 2 {
		t.Errorf("stats at the end: %s, want 2 outcomes received and no write (healthy traffic)", res[6].Body)
	}
}

// Every kind of bad request gets its JSON error, and the extension keeps serving after each.
func TestBadRequestsAndTheExtensionKeepsServing(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now()})
	health := step{Method: "GET", Path: "/healthz", Token: "-"}
	cases := []struct {
		step   step
		status int
		code   string
	}{
		{step{Method: "GET", Path: "/v1/circuits/inventory", Token: "-"}, 401, "unauthorized"},
		{step{Method: "GET", Path: "/v1/circuits/inventory", Token: "wrong"}, 401, "unauthorized"},
		{step{Method: "GET", Path: "/v1/stats", Token: "-"}, 401, "unauthorized"},
		{get("/v1/circuits/bad%20id"), 400, "invalid_id"},
		{get("/v1/circuits/nobody"), 404, "not_found"},
		{step{Method: "DELETE", Path: "/v1/circuits/inventory"}, 405, "method_not_allowed"},
		{get("/v1/circuits/inventory/acquire"), 405, "method_not_allowed"},
		{step{Method: "POST", Path: "/v1/circuits/inventory/outcomes", BodyBytes: 70 << 10}, 413, "body_too_large"},
		{post("/v1/circuits/inventory/outcomes", `{"outcomes":[{"ok":`), 400, "invalid_json"},
		{post("/v1/circuits/inventory/outcomes", `{"outcomes":[{"latencyMs":1}]}`), 400, "invalid_outcome"},
		{post("/v1/circuits/inventory/outcomes", `{"ok":true,"latency":1500}`), 400, "invalid_outcome"}, // not counted as a 0 ms call
	}
	var steps []step
	for _, c := range cases {
		steps = append(steps, c.step, health)
	}
	steps = append(steps, get("/v1/circuits/inventory"))
	res := r.invoke(steps...).Results
	for i, c := range cases {
		got := res[2*i]
		if got.Status != c.status || errorCode(t, got) != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.step.Method, c.step.Path, got.Status, got.Body, c.status, c.code)
		}
		if h := res[2*i+1]; h.Status != 200 {
			t.Errorf("healthz after %s %s: %d %s %s", c.step.Method, c.step.Path, h.Status, h.Body, h.Err)
		}
	}
	if last := res[len(res)-1]; last.Status != 200 {
		t.Errorf("GET after all the errors: %d %s", last.Status, last.Body)
	}
}

// A bad configuration fails the init through /init/error, naming the variable.
func TestBadConfigurationFailsTheInit(t *testing.T) {
	r := newRig(t, rigOptions{Env: []string{"BREAKERBOX_CACHE_TTL=five seconds", "BREAKERBOX_FAIL_MODE=maybe"}})
	_, err := r.invokeRaw(get("/healthz"))
	var ie *lambdaenv.InvokeError
	if !errors.As(err, &ie) || ie.Type != "Extension.InitError" {
		t.Fatalf("invoke: %v, want an Extension.InitError", err)
	}
	for _, name := range []string{"BREAKERBOX_CACHE_TTL", "BREAKERBOX_FAIL_MODE", "Extension.ConfigInvalid"} {
		if !strings.Contains(ie.Message, name) {
			t.Errorf("init error %q does not name %s", ie.Message, name)
		}
	}
}

// The Go client against the live extension, and with the extension unreachable in both fail modes.
func TestClientAgainstTheLiveExtension(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now()})
	r.put(circuit.Circuit{ID: "payments", State: circuit.Open, Since: time.Now(), RetryAt: time.Now().Add(time.Hour), Reason: "failure rate"})
	nowhere := map[string]string{"BREAKERBOX_PORT": "1"}
	res := r.invoke(
		step{Op: "client.do", ID: "inventory"},
		step{Op: "client.do", ID: "inventory", Fail: true},
		step{Op: "client.do", ID: "payments"},
		step{Op: "client.state", ID: "payments"},
		step{Op: "client.acquire", ID: "payments"},
		step{Op: "client.report", ID: "inventory", OK: true, Ms: 3},
		step{Op: "client.state", ID: "nobody"},
		get("/v1/stats"),
		step{Op: "client.do", ID: "inventory", Env: withFailMode(nowhere, "open")},
		step{Op: "client.do", ID: "inventory", Env: withFailMode(nowhere, "closed")},
		step{Op: "client.acquire", ID: "inventory", Env: withFailMode(nowhere, "closed")},
		step{Op: "client.do", ID: "inventory", Env: withFailMode(nil, "clsoed")},
	).Results
	type doResult struct{ Called, Open bool }
	if d := decode[doResult](t, res[0]); !d.Called || d.Open || res[0].Err != "" {
		t.Errorf("Do on CLOSED: %s %s", res[0].Body, res[0].Err)
	}
	if d := decode[doResult](t, res[1]); !d.Called || res[1].Err != "downstream failed" {
		t.Errorf("Do with a failing call: %s %s", res[1].Body, res[1].Err)
	}
	if d := decode[doResult](t, res[2]); d.Called || !d.Open || !strings.Contains(res[2].Err, "OPEN") {
		t.Errorf("Do on OPEN: %s %s", res[2].Body, res[2].Err)
	}
	if v := decode[view](t, res[3]); v.State != "OPEN" || v.Allowed || v.RetryAt == "" {
		t.Errorf("State: %s", res[3].Body)
	}
	if d := decode[decision](t, res[4]); d.Allowed || d.State != "OPEN" {
		t.Errorf("Acquire: %s", res[4].Body)
	}
	if res[5].Err != "" {
		t.Errorf("Report: %s", res[5].Err)
	}
	if !strings.Contains(res[6].Err, "not_found") {
		t.Errorf("State of an unknown circuit: %q", res[6].Err)
	}
	if st := decode[stats](t, res[7]); st.OutcomesReceived != 3 {
		t.Errorf("stats: %s, want the 3 outcomes the client reported", res[7].Body)
	}
	if d := decode[doResult](t, res[8]); !d.Called || res[8].Err != "" {
		t.Errorf("unreachable, fail open: %s %s", res[8].Body, res[8].Err)
	}
	if d := decode[doResult](t, res[9]); d.Called || !d.Open || !strings.Contains(res[9].Err, "fail mode closed") {
		t.Errorf("unreachable, fail closed: %s %s", res[9].Body, res[9].Err)
	}
	if d := decode[decision](t, res[10]); d.Allowed || d.State != "UNKNOWN" || !strings.Contains(res[10].Err, "unreachable") {
		t.Errorf("unreachable Acquire: %s %s", res[10].Body, res[10].Err)
	}
	if len(res[11].Body) != 0 || !strings.Contains(res[11].Err, `BREAKERBOX_FAIL_MODE="clsoed" is not valid`) {
		t.Errorf("client with a misspelt fail mode: %s %s, want an error naming BREAKERBOX_FAIL_MODE", res[11].Body, res[11].Err)
	}
}

func withFailMode(env map[string]string, mode string) map[string]string {
	out := map[string]string{"BREAKERBOX_FAIL_MODE": mode}
	for k, v := range env {
		out[k] = v
	}
	return out
}
