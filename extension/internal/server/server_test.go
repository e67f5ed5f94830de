package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

const token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"

var (
	since   = time.Date(2026, 11, 22, 12, 0, 0, 123e6, time.UTC)
	retryAt = since.Add(30 * time.Second)
)

// fakeService answers from fixed data and records reports.
type fakeService struct {
	mu      sync.Mutex
	reports map[string][]breaker.Outcome
	panics  bool
	// stake is what Due answers; writes records WriteIfDue's calls (circuit and the context's
	// deadline), and hold, when set, holds each one until it is closed.
	stake  breaker.Stake
	writes []write
	hold   chan struct{}
	// acquireDeadline is the deadline of the last Acquire's context; batchAcquires counts the
	// acquires that asked for no call name.
	acquireDeadline time.Time
	batchAcquires   int
}

type write struct {
	id       string
	deadline time.Time
}

func (f *fakeService) Due(string) breaker.Stake {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stake
}

func (f *fakeService) WriteIfDue(ctx context.Context, id string) error {
	d, _ := ctx.Deadline()
	f.mu.Lock()
	f.writes = append(f.writes, write{id, d})
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return nil
}

func (f *fakeService) written() []write {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]write(nil), f.writes...)
}

func (f *fakeService) State(_ context.Context, id string) (breaker.View, error) {
	if f.panics {
		panic("boom")
	}
	switch id {
	case "inventory":
		return breaker.View{ID: id, State: circuit.Closed, Allowed: true, Since: since, Reason: "2 successful probes", Version: 7, Age: 1500 * time.Millisecond}, nil
	case "payments":
		return breaker.View{ID: id, State: circuit.Open, Since: since, RetryAt: retryAt, Reason: "failure rate 60% ≥ 50% over 10 calls; open for 30s",
			Version: 3, Override: circuit.ForcedOpen, Stale: true, Age: 42 * time.Millisecond}, nil
	case "down":
		return breaker.View{}, fmt.Errorf("cache: %w", cache.ErrUnavailable)
	}
	return breaker.View{}, fmt.Errorf("circuit %q: %w", id, breaker.ErrNotFound)
}

func (f *fakeService) List(ctx context.Context) []breaker.View {
	a, _ := f.State(ctx, "inventory")
	b, _ := f.State(ctx, "payments")
	return []breaker.View{a, b}
}

func (f *fakeService) Acquire(ctx context.Context, id string) breaker.Decision {
	d, _ := ctx.Deadline()
	f.mu.Lock()
	f.acquireDeadline = d
	f.mu.Unlock()
	if id == "payments" {
		return breaker.Decision{State: "HALF_OPEN", RetryAt: retryAt, Reason: "probing"}
	}
	return breaker.Decision{Allowed: true, State: "HALF_OPEN", Permit: "PERMIT1", Call: "c-1", Reason: "probing"}
}

func (f *fakeService) batches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.batchAcquires
}

// AcquireBatch answers as Acquire, without a call name, and counts the batch acquires.
func (f *fakeService) AcquireBatch(ctx context.Context, id string) breaker.Decision {
	d := f.Acquire(ctx, id)
	d.Call = ""
	f.mu.Lock()
	f.batchAcquires++
	f.mu.Unlock()
	return d
}

func (f *fakeService) Report(_ context.Context, id string, outs []breaker.Outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reports == nil {
		f.reports = map[string][]breaker.Outcome{}
	}
	f.reports[id] = append(f.reports[id], outs...)
}

func (f *fakeService) Stats() breaker.Stats {
	return breaker.Stats{CacheHits: 5, StoreReads: 1, OutcomesBuffered: 2, CallsUnderWay: 3}
}

type rig struct {
	t   *testing.T
	srv *httptest.Server
	svc *fakeService
}

func newRig(t *testing.T, tok string) *rig {
	svc := &fakeService{}
	srv := httptest.NewServer(Handler(svc, Options{Token: tok}))
	t.Cleanup(srv.Close)
	return &rig{t: t, srv: srv, svc: svc}
}

// call sends a request with the token (unless tok is "-") and returns status, headers and body.
func (r *rig) call(method, path, tok string, body io.Reader) (int, http.Header, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if tok != "-" {
		req.Header.Set(TokenHeader, tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// healthy checks the server still answers after an error.
func (r *rig) healthy() {
	r.t.Helper()
	if st, _, body := r.call("GET", "/healthz", "-", nil); st != 200 || body != `{"status":"ok"}` {
		r.t.Fatalf("healthz after an error: %d %s", st, body)
	}
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error document: %s (%v)", body, err)
	}
	return e.Error.Code
}

func TestCircuitViewShape(t *testing.T) {
	r := newRig(t, token)
	st, h, body := r.call("GET", "/v1/circuits/inventory", token, nil)
	want := `{"id":"inventory","state":"CLOSED","allowed":true,"since":"2026-11-22T12:00:00.123Z","reason":"2 successful probes","version":7,"stale":false,"ageMs":1500}`
	if st != 200 || body != want || h.Get("Content-Type") != "application/json" {
		t.Fatalf("GET inventory: %d %s\n got %s\nwant %s", st, h.Get("Content-Type"), body, want)
	}
	_, _, body = r.call("GET", "/v1/circuits/payments", token, nil)
	want = `{"id":"payments","state":"OPEN","allowed":false,"since":"2026-11-22T12:00:00.123Z","retryAt":"2026-11-22T12:00:30.123Z","reason":"failure rate 60% ≥ 50% over 10 calls; open for 30s","version":3,"override":"FORCED_OPEN","stale":true,"ageMs":42}`
	if body != want {
		t.Fatalf("GET payments:\n got %s\nwant %s", body, want)
	}
}

func TestListAcquireHealthStats(t *testing.T) {
	r := newRig(t, token)
	st, _, body := r.call("GET", "/v1/circuits", token, nil)
	var list struct{ Circuits []map[string]any }
	if err := json.Unmarshal([]byte(body), &list); st != 200 || err != nil || len(list.Circuits) != 2 || list.Circuits[1]["id"] != "payments" {
		t.Fatalf("list: %d %s (%v)", st, body, err)
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, nil)
	if want := `{"allowed":true,"state":"HALF_OPEN","permit":"PERMIT1","call":"c-1","stale":false,"reason":"probing"}`; st != 200 || body != want {
		t.Fatalf("acquire: %d\n got %s\nwant %s", st, body, want)
	}
	_, _, body = r.call("POST", "/v1/circuits/payments/acquire", token, strings.NewReader("{}"))
	if want := `{"allowed":false,"state":"HALF_OPEN","retryAt":"2026-11-22T12:00:30.123Z","stale":false,"reason":"probing"}`; body != want {
		t.Fatalf("denied acquire:\n got %s\nwant %s", body, want)
	}
	st, _, body = r.call("GET", "/v1/stats", token, nil)
	var stats map[string]any
	if err := json.Unmarshal([]byte(body), &stats); st != 200 || err != nil || stats["cacheHits"] != 5.0 || stats["outcomesBuffered"] != 2.0 || stats["callsUnderWay"] != 3.0 {
		t.Fatalf("stats: %d %s", st, body)
	}
	for _, k := range []string{"cacheMisses", "storeReads", "storeErrors", "flushes", "uptimeMs"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("stats lacks %q: %s", k, body)
		}
	}
}

func TestAuth(t *testing.T) {
	r := newRig(t, token)
	for _, tok := range []string{"-", "", "wrong", token + "x"} {
		st, _, body := r.call("GET", "/v1/circuits/inventory", tok, nil)
		if st != 401 || errorCode(t, body) != "unauthorized" {
			t.Errorf("token %q: %d %s, want 401 unauthorized", tok, st, body)
		}
		r.healthy()
	}
	if st, _, _ := r.call("POST", "/v1/circuits/inventory/acquire", "-", nil); st != 401 {
		t.Errorf("acquire without token: %d", st)
	}
	// Sent twice, whichever comes first: refused, never settled by taking one of them.
	for _, toks := range [][]string{{token, "wrong"}, {"wrong", token}, {token, token}} {
		req, _ := http.NewRequest("GET", r.srv.URL+"/v1/circuits/inventory", nil)
		req.Header[TokenHeader] = toks
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || errorCode(t, string(b)) != "unauthorized" || !strings.Contains(string(b), "send it once") {
			t.Errorf("token sent as %q: %d %s, want 401 saying to send it once", toks, resp.StatusCode, b)
		}
	}
	// The header's name is matched whatever its case, as HTTP asks.
	req, _ := http.NewRequest("GET", r.srv.URL+"/v1/circuits/inventory", nil)
	req.Header["x-breakerbox-TOKEN"] = []string{token}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("token header in another case: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Without a configured token nobody needs one.
	open := newRig(t, "")
	if st, _, _ := open.call("GET", "/v1/circuits/inventory", "-", nil); st != 200 {
		t.Errorf("no auth configured: %d", st)
	}
}

func TestErrors(t *testing.T) {
	r := newRig(t, token)
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		method, path string
		body         io.Reader
		status       int
		code         string
	}{
		{"GET", "/v1/circuits/bad%20id", nil, 400, "invalid_id"},
		{"GET", "/v1/circuits/" + long, nil, 400, "invalid_id"},
		{"POST", "/v1/circuits/caf%C3%A9/acquire", nil, 400, "invalid_id"},
		{"GET", "/v1/circuits/nobody", nil, 404, "not_found"},
		{"GET", "/v1/circuits/down", nil, 503, "store_unavailable"},
		{"GET", "/v2/circuits", nil, 404, "unknown_endpoint"},
		{"DELETE", "/v1/circuits/inventory", nil, 405, "method_not_allowed"},
		{"GET", "/v1/circuits/inventory/acquire", nil, 405, "method_not_allowed"},
		{"PUT", "/v1/circuits/inventory/outcomes", nil, 405, "method_not_allowed"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`{"outcomes":[{"ok":tru`), 400, "invalid_json"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`[]`), 400, "invalid_json"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`{}`), 400, "invalid_outcome"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`{"outcomes":[{"latencyMs":3}]}`), 400, "invalid_outcome"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`{"ok":true,"latencyMs":-1}`), 400, "invalid_outcome"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`{"outcomes":[{"ok":true,"latencyMs":1,"permit":"` + long + `"}]}`), 400, "invalid_outcome"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(`{"ok":true,"latencyMs":1,"call":"` + strings.Repeat("c", 65) + `"}`), 400, "invalid_outcome"},
		{"POST", "/v1/circuits/inventory/outcomes", strings.NewReader(strings.Repeat(" ", MaxBody+1)), 413, "body_too_large"},
		{"POST", "/v1/circuits/inventory/outcomes", io.MultiReader(strings.NewReader(`{"outcomes":[`), strings.NewReader(strings.Repeat(`{"ok":true,"latencyMs":1},`, 3000))), 413, "body_too_large"},
		{"POST", "/v1/circuits/inventory/acquire", struct{ io.Reader }{strings.NewReader(strings.Repeat("x", MaxBody+10))}, 413, "body_too_large"},
	} {
		st, h, body := r.call(tc.method, tc.path, token, tc.body)
		if st != tc.status || errorCode(t, body) != tc.code || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, st, body, tc.status, tc.code)
		}
		if st == 405 && h.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
		r.healthy()
	}
}

func TestOutcomesAccepted(t *testing.T) {
	r := newRig(t, token)
	st, _, body := r.call("POST", "/v1/circuits/inventory/outcomes", token, strings.NewReader(`{"ok":false,"latencyMs":1200.5,"permit":"P1","call":"c-1","error":"status 503"}`))
	if st != 202 || body != `{"accepted":1}` {
		t.Fatalf("one outcome: %d %s", st, body)
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/outcomes", token, strings.NewReader(`{"outcomes":[{"ok":true,"latencyMs":5,"call":"`+strings.Repeat("c", 64)+`"},{"ok":true,"latencyMs":0,"permit":null,"call":null}]}`))
	if st != 202 || body != `{"accepted":2}` {
		t.Fatalf("two outcomes: %d %s", st, body)
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/outcomes", token, strings.NewReader(`{"outcomes":[{"call":"c-2","cancelled":true},{"permit":"P2","cancelled":true}]}`))
	if st != 202 || body != `{"accepted":2}` {
		t.Fatalf("two cancellations: %d %s", st, body)
	}
	want := []breaker.Outcome{
		{OK: false, Latency: 1200500 * time.Microsecond, Permit: "P1", Call: "c-1", Err: "status 503"},
		{OK: true, Latency: 5 * time.Millisecond, Call: strings.Repeat("c", 64)},
		{OK: true},
		{Call: "c-2", Cancelled: true},
		{Permit: "P2", Cancelled: true},
	}
	r.svc.mu.Lock()
	got := r.svc.reports["inventory"]
	r.svc.mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reported %+v, want %+v", got, want)
	}
}

func TestPanicIsA500AndServingGoesOn(t *testing.T) {
	r := newRig(t, "")
	r.svc.panics = true
	st, _, body := r.call("GET", "/v1/circuits/inventory", "-", nil)
	if st != 500 || errorCode(t, body) != "internal" {
		t.Fatalf("panic: %d %s", st, body)
	}
	r.healthy()
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uo\te`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "≥ 50% — é 😀", "<&>", "bad\xffutf8", "\u2028"} {
		got := appendString(nil, s)
		if !json.Valid(got) {
			t.Errorf("%q: invalid JSON %s", s, got)
			continue
		}
		var back string
		_ = json.Unmarshal(got, &back)
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
	}
}

func TestAppendTimeMatchesRFC3339Milli(t *testing.T) {
	for _, tm := range []time.Time{
		since, time.Unix(0, 0), time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), {},
	} {
		want := `"` + tm.UTC().Format(rfc3339Milli) + `"`
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestStrictOutcomes: a body the API does not take is a 400 whose message names the field at fault
// and says what is expected; nothing of it is reported.
func TestStrictOutcomes(t *testing.T) {
	r := newRig(t, token)
	for _, tc := range []struct {
		body, code string
		want       []string // in the message
	}{
		{`{"ok":false,"latency":4000}`, "invalid_outcome", []string{`unknown field "latency"`, `did you mean "latencyMs"?`}},
		{`{"outcomes":[{"ok":true,"latencyMs":3},{"ok":false,"latency_ms":9,"err":"x"}]}`, "invalid_outcome",
			[]string{"outcome 1", `unknown fields "err" (did you mean "error"?), "latency_ms" (did you mean "latencyMs"?)`}},
		{`{"ok":true,"LatencyMs":3}`, "invalid_outcome", []string{`unknown field "LatencyMs" (did you mean "latencyMs"?)`}},
		{`{"outcomes":[{"ok":true,"latencyMs":3}],"extra":1}`, "invalid_outcome", []string{`unknown field "extra" beside "outcomes"`}},
		{`{"outcome":[{"ok":true,"latencyMs":3}]}`, "invalid_outcome", []string{`unknown field "outcome" (did you mean "outcomes"?)`}},
		{`{"ok":true}`, "invalid_outcome", []string{`"latencyMs" must be the call's duration in milliseconds`, "got nothing"}},
		{`{"ok":"true","latencyMs":3}`, "invalid_outcome", []string{`"ok" must be true or false (got "true")`}},
		{`{"ok":true,"latencyMs":"3"}`, "invalid_outcome", []string{`"latencyMs"`, `got "3"`}},
		{`{"ok":true,"latencyMs":3,"error":503}`, "invalid_outcome", []string{`"error" must be a string (got 503)`}},
		{`{"ok":true,"latencyMs":3,"call":7}`, "invalid_outcome", []string{`"call" must be a string (got 7)`}},
		{`{"ok":true,"latencyMs":3,"callId":"c-1"}`, "invalid_outcome", []string{`unknown field "callId" (did you mean "call"?)`}},
		{`{"outcomes":[{"ok":true,"latencyMs":3,"Call":"c-1"}]}`, "invalid_outcome", []string{"outcome 0", `unknown field "Call" (did you mean "call"?)`}},
		{`{"ok":true,"latencyMs":3,"call":"` + strings.Repeat("c", 65) + `"}`, "invalid_outcome", []string{`"call" is longer than 64 characters: send back the call acquire gave`}},
		{`{"outcomes":[{"ok":true,"latencyMs":3}],"call":"c-1"}`, "invalid_outcome", []string{`unknown field "call" beside "outcomes"`}},
		{`{"outcomes":{"ok":true}}`, "invalid_outcome", []string{`"outcomes" must be a JSON array`}},
		{`{"outcomes":[7]}`, "invalid_outcome", []string{"outcome 0 is not a JSON object"}},
		{`null`, "invalid_json", []string{"body is JSON null, not an object"}},
		{`[{"ok":true,"latencyMs":3}]`, "invalid_json", []string{"body is a JSON array, not an object"}},
		{`{"ok":true,"latencyMs":3} {"ok":true,"latencyMs":3}`, "invalid_json", []string{"not valid JSON"}},
		{`{"ok":true,"latencyMs":3,"ok":false}`, "invalid_outcome", []string{`field "ok" is given twice`}},
		{`{"outcomes":[{"ok":true,"latencyMs":3},{"ok":false,"latencyMs":3,"latencyMs":9}]}`, "invalid_outcome", []string{`field "outcomes[1].latencyMs" is given twice`}},
		{`{"call":"c1","cancelled":false}`, "invalid_outcome", []string{`"cancelled" must be true (got false)`, `"ok" and "latencyMs" instead`}},
		{`{"call":"c1","cancelled":"yes"}`, "invalid_outcome", []string{`"cancelled" must be true (got "yes")`}},
		{`{"call":"c1","cancelled":true,"ok":false}`, "invalid_outcome", []string{`a cancelled call has no outcome: send "ok" or "cancelled", not both`}},
		{`{"outcomes":[{"call":"c1","cancelled":true,"latencyMs":3}]}`, "invalid_outcome", []string{"outcome 0", `send "latencyMs" or "cancelled"`}},
		{`{"cancelled":true}`, "invalid_outcome", []string{`a cancelled call is named by the "call" (or "permit") acquire gave`}},
		{`{"call":"c1","canceled":true}`, "invalid_outcome", []string{`unknown field "canceled" (did you mean "cancelled"?)`}},
	} {
		st, _, body := r.call("POST", "/v1/circuits/inventory/outcomes", token, strings.NewReader(tc.body))
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal([]byte(body), &e)
		if st != 400 || e.Error.Code != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.body, st, body, tc.code)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(e.Error.Message, w) {
				t.Errorf("%s: message %q does not say %q", tc.body, e.Error.Message, w)
			}
		}
	}
	r.svc.mu.Lock()
	defer r.svc.mu.Unlock()
	if len(r.svc.reports) != 0 {
		t.Errorf("refused bodies were reported: %+v", r.svc.reports)
	}
}

// TestAcquireBody: acquire takes no body or {"call":false}; an empty one or {} is fine, other fields
// are refused by name.
func TestAcquireBody(t *testing.T) {
	r := newRig(t, token)
	for _, ok := range []string{"", " \n", "{}"} {
		if st, _, body := r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(ok)); st != 200 {
			t.Errorf("acquire with body %q: %d %s", ok, st, body)
		}
	}
	st, _, body := r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(`{"ttl":5}`))
	if st != 400 || errorCode(t, body) != "invalid_body" || !strings.Contains(body, `unknown field \"ttl\"`) {
		t.Errorf("acquire with a field: %d %s", st, body)
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(`{"call":false,"call":true}`))
	if st != 400 || errorCode(t, body) != "invalid_body" || !strings.Contains(body, `field \"call\" is given twice`) {
		t.Errorf("acquire with call twice: %d %s", st, body)
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(`{"ttl":`))
	if st != 400 || errorCode(t, body) != "invalid_json" {
		t.Errorf("acquire with broken JSON: %d %s", st, body)
	}
	// {"call":false}: a batch of calls reported together, answered without a call name.
	st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(`{"call":false}`))
	if st != 200 || strings.Contains(body, `"call"`) || r.svc.batches() != 1 {
		t.Errorf("acquire for a batch: %d %s (%d batch acquires), want an answer without a call name", st, body, r.svc.batches())
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(`{"call":true}`))
	if st != 200 || !strings.Contains(body, `"call":"c-1"`) || r.svc.batches() != 1 {
		t.Errorf("acquire with call true: %d %s, want the named call", st, body)
	}
	for _, bad := range []string{`{"call":"no"}`, `{"call":null}`, `{"call":0}`} {
		st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(bad))
		if st != 400 || errorCode(t, body) != "invalid_body" || !strings.Contains(body, `want true`) {
			t.Errorf("acquire with %s: %d %s, want invalid_body saying what call takes", bad, st, body)
		}
	}
	st, _, body = r.call("POST", "/v1/circuits/inventory/acquire", token, strings.NewReader(`{"call":false,"ttl":5}`))
	if st != 400 || !strings.Contains(body, `unknown field \"ttl\"`) {
		t.Errorf("acquire with call and another field: %d %s", st, body)
	}
}

// TestPercentEncodedID: the Python client (urllib.parse.quote(id, safe="")) and the Node client
// (encodeURIComponent) send ':' in a circuit id as %3A. ':' is valid in an id, so the encoded path
// names the same circuit; an encoded character that is not valid still gets a 400 naming it.
func TestPercentEncodedID(t *testing.T) {
	r := newRig(t, token)
	if st, _, body := r.call("GET", "/v1/circuits/svc%3Aprod", token, nil); st != 404 || errorCode(t, body) != "not_found" || !strings.Contains(body, `\"svc:prod\"`) {
		t.Errorf("GET svc%%3Aprod: %d %s, want 404 not_found for \"svc:prod\"", st, body)
	}
	if st, _, body := r.call("POST", "/v1/circuits/svc%3Aprod/acquire", token, nil); st != 200 {
		t.Errorf("acquire svc%%3Aprod: %d %s, want 200", st, body)
	}
	if st, _, body := r.call("POST", "/v1/circuits/svc%3Aprod/outcomes", token, strings.NewReader(`{"ok":false,"latencyMs":3}`)); st != 202 {
		t.Errorf("outcomes svc%%3Aprod: %d %s, want 202", st, body)
	}
	r.svc.mu.Lock()
	got := len(r.svc.reports["svc:prod"])
	r.svc.mu.Unlock()
	if got != 1 {
		t.Errorf("reports for svc:prod: %d, want 1 (%v)", got, r.svc.reports)
	}
	for _, p := range []string{"/v1/circuits/a%2Fb", "/v1/circuits/caf%C3%A9"} {
		if st, _, body := r.call("GET", p, token, nil); st != 400 || errorCode(t, body) != "invalid_id" {
			t.Errorf("GET %s: %d %s, want 400 invalid_id", p, st, body)
		}
	}
}
