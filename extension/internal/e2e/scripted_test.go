package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"
)

// scriptedAPI is an Extensions API whose events a test hands out one by one: the real extension
// binary runs against it, so what the extension does with each answer (an error, a malformed or
// unknown event, a SHUTDOWN of any reason) is seen from outside, exit code and all.
type scriptedAPI struct {
	srv *httptest.Server
	// next answers each /event/next call in turn; past its end the call is held until the test ends.
	next chan func(w http.ResponseWriter)

	mu         sync.Mutex
	exitErrors []string // "init/error <type>" or "exit/error <type>", as posted
	nextCalls  int
}

func newScriptedAPI(t *testing.T) *scriptedAPI {
	a := &scriptedAPI{next: make(chan func(http.ResponseWriter), 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Lambda-Extension-Identifier", "ext-1")
		fmt.Fprint(w, `{"functionName":"orders","functionVersion":"$LATEST","handler":"h"}`)
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.nextCalls++
		a.mu.Unlock()
		select {
		case f := <-a.next:
			f(w)
		case <-r.Context().Done():
		}
	})
	for _, op := range []string{"init/error", "exit/error"} {
		mux.HandleFunc("POST /2020-01-01/extension/"+op, func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			a.exitErrors = append(a.exitErrors, op+" "+r.Header.Get("Lambda-Extension-Function-Error-Type"))
			a.mu.Unlock()
			fmt.Fprint(w, `{"status":"OK"}`)
		})
	}
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *scriptedAPI) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *scriptedAPI) calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nextCalls
}

// event queues an event document.
func (a *scriptedAPI) event(body string) {
	a.next <- func(w http.ResponseWriter) { io.WriteString(w, body) }
}

func invokeEvent(deadline time.Time) string {
	return fmt.Sprintf(`{"eventType":"INVOKE","deadlineMs":%d,"requestId":"r1","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:orders"}`, deadline.UnixMilli())
}

func shutdownEvent(reason string, deadline time.Time) string {
	return fmt.Sprintf(`{"eventType":"SHUTDOWN","shutdownReason":%q,"deadlineMs":%d}`, reason, deadline.UnixMilli())
}

// fakeDynamo is a DynamoDB endpoint that holds every request until the client gives up (hang),
// answers 500 (down), answers every call with an empty success (ok: no item, nothing unprocessed),
// or answers until the first item write and then holds every call (trip-then-hang).
func fakeDynamo(t *testing.T, mode string) string {
	url, _ := fakeDynamoCounting(t, mode)
	return url
}

// fakeDynamoCounting is fakeDynamo with a count of the counter writes (UpdateItem) it was sent.
func fakeDynamoCounting(t *testing.T, mode string) (string, func() int) {
	stop := make(chan struct{})
	var mu sync.Mutex
	updates := 0
	tripped := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		mu.Lock()
		if strings.HasSuffix(target, ".UpdateItem") {
			updates++
		}
		// trip-then-hang answers DynamoDB until the first item write (the trip), then holds every
		// call, as it holds every EventBridge call.
		hang := mode == "hang" || mode == "trip-then-hang" && (tripped || strings.HasPrefix(target, "AWSEvents."))
		if mode == "trip-then-hang" && strings.HasSuffix(target, ".PutItem") {
			tripped = true
		}
		mu.Unlock()
		switch {
		case hang:
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		case mode == "down":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"down"}`)
		default:
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	return srv.URL, func() int { mu.Lock(); defer mu.Unlock(); return updates }
}

// extProc is the real extension binary, started against a scriptedAPI.
type extProc struct {
	cmd  *exec.Cmd
	out  *testkit.SyncBuffer
	port int
	done chan struct{}
	err  error
}

func startExtension(t *testing.T, api *scriptedAPI, dynamo string, env ...string) *extProc {
	t.Helper()
	p := &extProc{out: &testkit.SyncBuffer{}, port: testkit.FreePort(t), done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(extensionsDir, "breakerbox"))
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + api.addr(),
		"BREAKERBOX_TABLE=scripted",
		"BREAKERBOX_AUTH=none",
		"BREAKERBOX_PORT=" + strconv.Itoa(p.port),
		"BREAKERBOX_LOG_LEVEL=debug",
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"GORACE=atexit_sleep_ms=0", // a -race build otherwise sleeps 1s at exit
		"AWS_ENDPOINT_URL=" + dynamo,
	}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("extension output:\n%s", p.out.String())
		}
	})
	return p
}

// wait waits for the process to exit within d and returns its exit code (-1: still running).
func (p *extProc) wait(d time.Duration) int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// waitNext waits until the extension has made n calls to /event/next.
func (a *scriptedAPI) waitNext(t *testing.T, n int, p *extProc) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for a.calls() < n {
		select {
		case <-p.done:
			t.Fatalf("extension exited (%v) before its call %d to /event/next", p.err, n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for call %d to /event/next", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// report posts outcomes to the extension.
func (p *extProc) report(t *testing.T, id string, n int, ok bool) int {
	t.Helper()
	outs := make([]map[string]any, n)
	for i := range outs {
		outs[i] = map[string]any{"ok": ok, "latencyMs": 5}
	}
	body, _ := json.Marshal(map[string]any{"outcomes": outs})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))+"/v1/circuits/"+id+"/outcomes", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Every shutdown reason, known or not, ends in a clean exit (0) well before the deadline.
func TestScriptedShutdownReasonsExitZero(t *testing.T) {
	for _, reason := range []string{"spindown", "timeout", "failure", "SandboxTerminated", "somethingNew", ""} {
		t.Run(reason, func(t *testing.T) {
			api := newScriptedAPI(t)
			p := startExtension(t, api, fakeDynamo(t, "down"))
			api.waitNext(t, 1, p)
			deadline := time.Now().Add(2 * time.Second)
			api.event(shutdownEvent(reason, deadline))
			code := p.wait(30 * time.Second)
			if code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
		})
	}
}

// A SHUTDOWN with outcomes buffered and DynamoDB holding every call: the extension gives up on the
// flush and exits before the deadline, whatever its store timeout, on both models.
func TestScriptedShutdownWithAHangingStoreKeepsTheDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"managed", []string{"AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances", "AWS_LAMBDA_MAX_CONCURRENCY=4", "BREAKERBOX_FLUSH_INTERVAL=10m"}},
		{"managed-slow-store", []string{"AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances", "AWS_LAMBDA_MAX_CONCURRENCY=4", "BREAKERBOX_FLUSH_INTERVAL=10m", "BREAKERBOX_STORE_TIMEOUT=10s"}},
		{"default-slow-store", []string{"BREAKERBOX_FLUSH_INTERVAL=10m", "BREAKERBOX_STORE_TIMEOUT=10s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newScriptedAPI(t)
			p := startExtension(t, api, fakeDynamo(t, "hang"), tc.env...)
			api.waitNext(t, 1, p)
			if !strings.HasPrefix(tc.name, "managed") {
				api.event(invokeEvent(time.Now().Add(1500 * time.Millisecond)))
				api.waitNext(t, 2, p)
			}
			if code := p.report(t, "inventory", 3, false); code != http.StatusAccepted {
				t.Fatalf("report: status %d", code)
			}
			deadline := time.Now().Add(2 * time.Second)
			api.event(shutdownEvent("spindown", deadline))
			code := p.wait(10 * time.Second)
			if code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
			if late := time.Since(deadline); late > overrun {
				t.Fatalf("exited %s after the SHUTDOWN deadline", late)
			}
		})
	}
}

// The default model: a report during an invocation answers before the invocation's deadline, even
// with DynamoDB holding every call and a long store timeout.
func TestScriptedReportKeepsTheInvokeDeadline(t *testing.T) {
	api := newScriptedAPI(t)
	p := startExtension(t, api, fakeDynamo(t, "hang"), "BREAKERBOX_FLUSH_INTERVAL=100ms", "BREAKERBOX_STORE_TIMEOUT=10s")
	api.waitNext(t, 1, p)
	deadline := time.Now().Add(1500 * time.Millisecond)
	api.event(invokeEvent(deadline))
	api.waitNext(t, 2, p)
	for range 3 {
		p.report(t, "inventory", 1, false)
	}
	if late := time.Since(deadline); late > overrun {
		t.Fatalf("reports answered %s after the invocation's deadline", late)
	}
}

// overrun is how late past a deadline a test lets the extension be. The extension aims to finish
// before it, by a margin; what these tests catch is a wait that ignores it (a 10 s store timeout, the
// outbox's 5 s write), which no scheduling delay on a loaded machine comes near.
const overrun = 2 * time.Second

// A bad environment: unknown event types are skipped, and the extension keeps asking.
func TestScriptedUnknownEventTypeIsSkipped(t *testing.T) {
	api := newScriptedAPI(t)
	p := startExtension(t, api, fakeDynamo(t, "down"))
	api.waitNext(t, 1, p)
	api.event(`{"eventType":"RESTORE","deadlineMs":0}`)
	api.waitNext(t, 2, p)
	api.event(shutdownEvent("spindown", time.Now().Add(2*time.Second)))
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

// A bad environment: /event/next answering errors or garbage, or going away, ends the extension
// with a non-zero exit, promptly, without spinning on the API.
func TestScriptedNextFailures(t *testing.T) {
	for name, answer := range map[string]func(w http.ResponseWriter){
		"500": func(w http.ResponseWriter) {
			w.WriteHeader(500)
			io.WriteString(w, `{"errorType":"x","errorMessage":"y"}`)
		},
		"malformed": func(w http.ResponseWriter) { io.WriteString(w, `{"eventType":`) },
		"no type":   func(w http.ResponseWriter) { io.WriteString(w, `{}`) },
		"gone": func(w http.ResponseWriter) {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		},
	} {
		t.Run(name, func(t *testing.T) {
			api := newScriptedAPI(t)
			p := startExtension(t, api, fakeDynamo(t, "down"))
			api.waitNext(t, 1, p)
			for range 8 {
				api.next <- answer
			}
			code := p.wait(30 * time.Second)
			api.mu.Lock()
			posted := strings.Join(api.exitErrors, "; ")
			api.mu.Unlock()
			// Eight bad answers are queued: an extension that retried would use them up.
			if code != 1 || !strings.Contains(posted, "exit/error") || api.calls() > 2 {
				t.Fatalf("exit %d after %d calls to /event/next, errors posted %q: want exit 1 after one exit/error, no retry",
					code, api.calls(), posted)
			}
		})
	}
}

// When /event/next fails (the Runtime API went away, or answered an error), the extension stops;
// the failures it holds are written first, within a short grace, not dropped with the process.
func TestScriptedNextFailureFlushesFirst(t *testing.T) {
	dynamo, updates := fakeDynamoCounting(t, "ok")
	api := newScriptedAPI(t)
	p := startExtension(t, api, dynamo, "AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances",
		"AWS_LAMBDA_MAX_CONCURRENCY=4", "BREAKERBOX_FLUSH_INTERVAL=10m")
	api.waitNext(t, 1, p)
	if code := p.report(t, "inventory", 3, false); code != http.StatusAccepted {
		t.Fatalf("report: status %d", code)
	}
	before := updates()
	api.next <- func(w http.ResponseWriter) {
		w.WriteHeader(500)
		io.WriteString(w, `{"errorType":"x","errorMessage":"y"}`)
	}
	if code := p.wait(30 * time.Second); code != 1 { // a retry loop would never exit
		t.Fatalf("exit code %d, want 1", code)
	}
	if updates() == before {
		t.Fatal("the buffered failures were not written before the extension exited")
	}
}

// A SHUTDOWN whose final flush trips a circuit while EventBridge and then DynamoDB stop answering:
// the unpublished transition's outbox write must not carry the extension past the deadline.
func TestScriptedShutdownTripWithTheStoreGoneKeepsTheDeadline(t *testing.T) {
	api := newScriptedAPI(t)
	dynamo, _ := fakeDynamoCounting(t, "trip-then-hang")
	// A store timeout long enough that an outbox write ignoring the deadline (5 s) shows as an overrun.
	p := startExtension(t, api, dynamo, "AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances",
		"AWS_LAMBDA_MAX_CONCURRENCY=4", "BREAKERBOX_FLUSH_INTERVAL=10m", "BREAKERBOX_STORE_TIMEOUT=10s")
	api.waitNext(t, 1, p)
	if code := p.report(t, "inventory", 5, false); code != http.StatusAccepted {
		t.Fatalf("report: status %d", code)
	}
	deadline := time.Now().Add(2 * time.Second)
	api.event(shutdownEvent("spindown", deadline))
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if late := time.Since(deadline); late > overrun {
		t.Fatalf("exited %s after the SHUTDOWN deadline", late)
	}
}
