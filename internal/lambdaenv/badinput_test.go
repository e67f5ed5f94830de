package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"
)

// Bad input on the Runtime and Extensions APIs gets a clear 4xx with Lambda's error document, and
// the environment goes on serving invokes.
func TestBadInputIsRefusedAndTheEnvKeepsRunning(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "bad", Extensions: []string{r.exe("ext-double"), r.exe("ext-basic")}})
	mustSucceed(t, r.invoke("bad", `{}`))

	// A second /register by the same extension, during init.
	es := r.entries()
	second := find(es, "ext-double", "second-register")
	if len(second) != 1 {
		t.Fatalf("ext-double did not try a second register: %+v", es)
	}
	var sr struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	if err := json.Unmarshal(second[0].Data, &sr); err != nil {
		t.Fatal(err)
	}
	if sr.Status != http.StatusForbidden {
		t.Errorf("second register: status %d, want 403", sr.Status)
	}
	sameJSON(t, "second register", []byte(sr.Body), "error_already_registered.json")

	api := "http://" + f.Sandboxes()[0].RuntimeAPI
	ext := api + "/2020-01-01/extension"
	rt := api + "/2018-06-01/runtime"
	huge := strings.Repeat("x", 2<<20)
	cases := []struct {
		name      string
		method    string
		url       string
		headers   map[string]string
		body      string
		status    int
		errorType string
		golden    string
	}{
		{"register with malformed JSON", "POST", ext + "/register", map[string]string{"Lambda-Extension-Name": "late"}, `{"events":`, 403, "InvalidRequestFormat", ""},
		{"register without a name", "POST", ext + "/register", nil, `{"events":["INVOKE"]}`, 403, "Extension.InvalidExtensionName", ""},
		{"register an unknown event", "POST", ext + "/register", map[string]string{"Lambda-Extension-Name": "late"}, `{"events":["INVOKE","FOO"]}`, 403, "Extension.InvalidEventType", ""},
		{"register after init", "POST", ext + "/register", map[string]string{"Lambda-Extension-Name": "late"}, `{"events":["INVOKE"]}`, 403, "Extension.RegistrationClosed", "error_registration_closed.json"},
		{"register again after init", "POST", ext + "/register", map[string]string{"Lambda-Extension-Name": "ext-basic"}, `{"events":["INVOKE"]}`, 403, "Extension.InvalidExtensionState", ""},
		{"register body over the limit", "POST", ext + "/register", map[string]string{"Lambda-Extension-Name": "late"}, huge, 413, "RequestEntityTooLarge", ""},
		{"next before register", "GET", ext + "/event/next", nil, "", 403, "Extension.MissingExtensionIdentifier", "error_missing_identifier.json"},
		{"next with an unknown identifier", "GET", ext + "/event/next", map[string]string{"Lambda-Extension-Identifier": "00000000-0000-4000-8000-000000000000"}, "", 403, "Extension.UnknownExtensionIdentifier", "error_unknown_extension.json"},
		{"next with a malformed identifier", "GET", ext + "/event/next", map[string]string{"Lambda-Extension-Identifier": "not-a-uuid"}, "", 403, "Extension.InvalidExtensionIdentifier", ""},
		{"init error from an unknown extension", "POST", ext + "/init/error", map[string]string{"Lambda-Extension-Identifier": "00000000-0000-4000-8000-000000000000", "Lambda-Extension-Function-Error-Type": "Extension.X"}, "{}", 403, "Extension.UnknownExtensionIdentifier", "error_unknown_extension.json"},
		{"exit error from an unknown extension", "POST", ext + "/exit/error", map[string]string{"Lambda-Extension-Identifier": "00000000-0000-4000-8000-000000000000", "Lambda-Extension-Function-Error-Type": "Extension.X"}, "{}", 403, "Extension.UnknownExtensionIdentifier", ""},
		{"response for an unknown request", "POST", rt + "/invocation/00000000-0000-4000-8000-000000000000/response", nil, `{}`, 400, "InvalidRequestID", "error_invalid_request_id.json"},
		{"error for an unknown request", "POST", rt + "/invocation/00000000-0000-4000-8000-000000000000/error", nil, `{}`, 400, "InvalidRequestID", "error_invalid_request_id.json"},
		{"runtime init error after init", "POST", rt + "/init/error", nil, `{"errorMessage":"late","errorType":"Runtime.Late"}`, 403, "InvalidStateTransition", ""},
		{"unknown path", "GET", api + "/2018-06-01/runtime/nope", nil, "", 404, "NotFound", ""},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
			var doc ErrorResponse
			if err := json.Unmarshal(body, &doc); err != nil || doc.ErrorType != tc.errorType || doc.ErrorMessage == "" {
				t.Errorf("body %s, want an error document of type %s", body, tc.errorType)
			}
			if tc.golden != "" {
				sameJSON(t, tc.name, body, tc.golden)
			}
			mustSucceed(t, r.invoke("bad", `{}`))
		})
	}
	if sb := f.Sandboxes(); len(sb) != 1 || sb[0].Inits != 1 {
		t.Errorf("bad input disturbed the sandbox: %+v", sb)
	}
}

// Function errors and a runtime crash are Unhandled errors of the right type;
// the next invoke works.
func TestRuntimeFailures(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "failing", Extensions: []string{r.exe("ext-basic")}})

	res := r.invoke("failing", `{"action":"error","message":"boom"}`)
	mustFail(t, res, "errorString")
	sameJSON(t, "function error", res.Payload, "function_error.json")
	mustSucceed(t, r.invoke("failing", `{}`))

	res = r.invoke("failing", `{"action":"exit"}`)
	ie := mustFail(t, res, "Runtime.ExitError")
	if !strings.HasSuffix(ie.Message, "Runtime exited with error: exit status 4") {
		t.Errorf("message %q", ie.Message)
	}
	sd := eventsOf[ShutdownEvent](t, r.entries(), "ext-basic", EventShutdown)
	if len(sd) != 1 || sd[0].ShutdownReason != ShutdownFailure {
		t.Errorf("SHUTDOWN after a crash: %+v, want reason failure", sd)
	}
	mustSucceed(t, r.invoke("failing", `{}`))
	if sb := f.Sandboxes()[0]; sb.Inits != 2 {
		t.Errorf("inits %d, want 2 (re-init after the crash)", sb.Inits)
	}
}

// The runtime API answers 413 to an oversized response, as Lambda does, and the invoke fails with
// Function.ResponseSizeTooLarge. (Plain HTTP here: a race-enabled runtime takes seconds to build
// 6 MB of JSON.)
func TestOversizedResponseStatus(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "raw", Command: []string{r.exe("runtime")}})
	sb, err := f.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer f.release(sb)
	// Stand in for the runtime: a generation whose "runtime" has picked up an invocation.
	sb.mu.Lock()
	g := newGeneration()
	g.phase = phaseInvoke
	inv := &invocation{id: newUUID()}
	g.current[inv.id], g.inflight[inv.id] = inv, inv
	sb.gen = g
	sb.mu.Unlock()
	defer func() { sb.mu.Lock(); sb.gen = nil; sb.mu.Unlock() }()

	url := "http://" + sb.addr + "/2018-06-01/runtime/invocation/" + inv.id + "/response"
	resp, err := http.Post(url, "application/json", bytes.NewReader(make([]byte, MaxResponseSize+1)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	sameJSON(t, "413 body", body, "error_payload_too_large.json")
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !inv.responded {
		t.Fatal("the oversized response did not answer the invocation")
	}
	ie := mustFail(t, inv.result, "Function.ResponseSizeTooLarge")
	if ie.Message != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Errorf("message %q", ie.Message)
	}
}

// Sandboxes are created on demand up to MaxConcurrency; beyond it, invokes are refused with
// ErrTooManyRequests. Each sandbox gets its own SandboxEnv.
func TestConcurrencyAndSandboxEnv(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{
		Name:           "pool",
		MaxConcurrency: 2,
		SandboxEnv:     func(i int) []string { return []string{"HELPER_INDEX=" + string(rune('a'+i))} },
	})
	var wg sync.WaitGroup
	results := make([]Result, 2)
	for i := range results {
		wg.Go(func() { results[i] = r.invoke("pool", `{"action":"sleep","sleep":"1s"}`) })
	}
	eventually(t, "two busy sandboxes", func() bool {
		sbs := f.Sandboxes()
		return len(sbs) == 2 && sbs[0].Busy && sbs[1].Busy
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.env.Invoke(ctx, "pool", []byte(`{}`)); !errors.Is(err, ErrTooManyRequests) {
		t.Errorf("third concurrent invoke: %v, want ErrTooManyRequests", err)
	}
	wg.Wait()
	pids := map[int]bool{}
	for _, res := range results {
		pids[mustSucceed(t, res).PID] = true
	}
	if len(pids) != 2 {
		t.Errorf("two concurrent invokes ran in %d runtime processes, want 2", len(pids))
	}
	seen := map[string]bool{}
	for range 2 {
		wg := sync.WaitGroup{}
		var a, b Result
		wg.Go(func() { a = r.invoke("pool", `{"action":"env","key":"HELPER_INDEX"}`) })
		wg.Go(func() { b = r.invoke("pool", `{"action":"env","key":"HELPER_INDEX"}`) })
		wg.Wait()
		seen[mustSucceed(t, a).Value] = true
		seen[mustSucceed(t, b).Value] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("SandboxEnv values seen %v, want a and b", seen)
	}
	if sbs := f.Sandboxes(); len(sbs) != 2 || sbs[0].RuntimeAPI == sbs[1].RuntimeAPI {
		t.Errorf("sandboxes %+v", sbs)
	}
}

// Process output reaches the configured writer line by line, prefixed by function, sandbox and
// process.
func TestProcessOutputIsPrefixed(t *testing.T) {
	r := newRig(t, Config{})
	var out testkit.SyncBuffer
	r.function(FunctionConfig{Name: "chatty", Extensions: []string{r.exe("ext-early")}, Output: &out})
	mustFail(t, r.invoke("chatty", `{}`), "Extension.Crash")
	if got := out.String(); !strings.Contains(got, "[chatty#0 ext-early] giving up before registering\n") {
		t.Errorf("output %q lacks the prefixed extension line", got)
	}
}

// An extension that reports /exit/error during an invoke fails it with Extension.ExitError; the
// sandbox is reset and the next invoke starts a fresh one.
func TestExtensionExitError(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "exiting", Extensions: []string{r.exe("ext-exiterror"), r.exe("ext-basic")}})
	ie := mustFail(t, r.invoke("exiting", `{}`), "Extension.ExitError")
	if !strings.HasSuffix(ie.Message, "extension ext-exiterror exited with an error: Extension.Broken: lost my config") {
		t.Errorf("message %q", ie.Message)
	}
	es := r.entries()
	sent := find(es, "ext-exiterror", "exit-error-sent")
	if len(sent) != 1 || !strings.Contains(string(sent[0].Data), `"status":202`) {
		t.Errorf("exit/error answer %+v, want 202", sent)
	}
	sd := eventsOf[ShutdownEvent](t, es, "ext-basic", EventShutdown)
	if len(sd) != 1 || sd[0].ShutdownReason != ShutdownFailure {
		t.Errorf("SHUTDOWN events %+v, want reason failure", sd)
	}
	if sb := f.Sandboxes()[0]; sb.State != "cold" {
		t.Errorf("state %q after the exit error, want cold", sb.State)
	}
}

// An extension registered from inside the runtime process (a name that is no extension executable)
// is an internal extension: INVOKE only, and it gets every INVOKE.
func TestInternalExtension(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "internal", Env: []string{"HELPER_RUNTIME_INIT=internal"}})
	res := r.invoke("internal", `{}`)
	mustSucceed(t, res)
	es := r.entries()
	refused := find(es, "internal-agent", "register-shutdown")
	if len(refused) != 1 || !strings.Contains(string(refused[0].Data), `"status":403`) || !strings.Contains(string(refused[0].Data), "Extension.InvalidEventType") {
		t.Errorf("an internal extension's SHUTDOWN registration: %+v, want 403 Extension.InvalidEventType", refused)
	}
	inv := eventsOf[InvokeEvent](t, es, "internal-agent", EventInvoke)
	if len(inv) != 1 || inv[0].RequestID != res.RequestID {
		t.Errorf("internal extension INVOKE events %+v, want one for %s", inv, res.RequestID)
	}
	if sb := f.Sandboxes()[0]; len(sb.Extensions) != 0 {
		t.Errorf("internal extensions listed as processes: %+v", sb.Extensions)
	}
}
