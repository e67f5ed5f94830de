package extensionsapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testID = "8f7a2b1c-1d2e-4f5a-9b8c-7d6e5f4a3b2c"

// fakeAPI is an httptest fake of the Extensions API that answers from testdata fixtures and records
// what it was sent.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	events   chan string // fixture names served by next, in order
	delay    time.Duration
	register func(w http.ResponseWriter)
	errorAns func(w http.ResponseWriter)
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         string
}

func newFake(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, events: make(chan string, 8)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeAPI) client(opt Options) *Client {
	c, err := New(f.addr(), opt)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(body)})
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch r.URL.Path {
	case "/2020-01-01/extension/register":
		if f.register != nil {
			f.register(w)
			return
		}
		w.Header().Set(headerID, testID)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture(f.t, "register_response.json"))
	case "/2020-01-01/extension/event/next":
		select {
		case name := <-f.events:
			w.Header().Set("Lambda-Extension-Event-Identifier", "e1")
			_, _ = w.Write(fixture(f.t, name))
		case <-r.Context().Done():
		}
	case "/2020-01-01/extension/init/error", "/2020-01-01/extension/exit/error":
		if f.errorAns != nil {
			f.errorAns(w)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("no request recorded")
	}
	return f.requests[len(f.requests)-1]
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRegisterSendsNameAndEventsAndKeepsTheID(t *testing.T) {
	f := newFake(t)
	c := f.client(Options{})
	got, err := c.Register(ctxT(t), "breakerbox", Invoke, Shutdown)
	if err != nil {
		t.Fatal(err)
	}
	want := RegisterResponse{FunctionName: "ordering", FunctionVersion: "$LATEST", Handler: "runtime"}
	if got != want {
		t.Errorf("register answer = %+v, want %+v", got, want)
	}
	if c.ID() != testID {
		t.Errorf("ID() = %q, want %q", c.ID(), testID)
	}
	req := f.last()
	if req.Method != http.MethodPost || req.Header.Get(headerName) != "breakerbox" {
		t.Errorf("register request %s with name %q", req.Method, req.Header.Get(headerName))
	}
	var body struct{ Events []string }
	if err := json.Unmarshal([]byte(req.Body), &body); err != nil || strings.Join(body.Events, ",") != "INVOKE,SHUTDOWN" {
		t.Errorf("register body %q (%v), want events INVOKE,SHUTDOWN", req.Body, err)
	}
}

func TestRegisterDecodesTheAccountID(t *testing.T) {
	f := newFake(t)
	f.register = func(w http.ResponseWriter) {
		w.Header().Set(headerID, testID)
		_, _ = w.Write(fixture(t, "register_response_account.json"))
	}
	got, err := f.client(Options{}).Register(ctxT(t), "breakerbox", Invoke)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountID != "123456789012" || got.FunctionName != "orders" {
		t.Errorf("register answer = %+v", got)
	}
}

func TestRegisterRefusedIsAnAPIError(t *testing.T) {
	f := newFake(t)
	f.register = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(fixture(t, "error_registration_closed.json"))
	}
	c := f.client(Options{})
	_, err := c.Register(ctxT(t), "breakerbox", Invoke, Shutdown)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *APIError", err)
	}
	if ae.Op != "register" || ae.Status != http.StatusForbidden || ae.ErrorType != "Extension.RegistrationClosed" ||
		ae.Message != "Extension registration closed already" {
		t.Errorf("APIError = %+v", ae)
	}
	if c.ID() != "" {
		t.Errorf("ID() = %q after a refused register", c.ID())
	}
}

func TestRegisterWithoutIdentifierHeaderFails(t *testing.T) {
	f := newFake(t)
	f.register = func(w http.ResponseWriter) { _, _ = w.Write(fixture(t, "register_response.json")) }
	if _, err := f.client(Options{}).Register(ctxT(t), "breakerbox", Invoke); err == nil || !strings.Contains(err.Error(), headerID) {
		t.Fatalf("err = %v, want one naming %s", err, headerID)
	}
}

func TestRegisterIsBoundedByTheTimeout(t *testing.T) {
	f := newFake(t)
	f.delay = 2 * time.Second
	start := time.Now()
	_, err := f.client(Options{Timeout: 100 * time.Millisecond}).Register(ctxT(t), "breakerbox", Invoke)
	if err == nil {
		t.Fatal("register succeeded past its timeout")
	}
	if el := time.Since(start); el > 1900*time.Millisecond {
		t.Errorf("register returned after %s, want about the 100ms timeout", el)
	}
}

func TestCallsBeforeRegisterFail(t *testing.T) {
	c := newFake(t).client(Options{})
	if _, err := c.Next(ctxT(t)); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("Next: err = %v, want ErrNotRegistered", err)
	}
	if err := c.InitError(ctxT(t), "Extension.X", "boom"); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("InitError: err = %v, want ErrNotRegistered", err)
	}
}

func registered(t *testing.T, f *fakeAPI, opt Options) *Client {
	c := f.client(opt)
	if _, err := c.Register(ctxT(t), "breakerbox", Invoke, Shutdown); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNextDecodesInvokeAndShutdownEvents(t *testing.T) {
	f := newFake(t)
	c := registered(t, f, Options{})
	f.events <- "invoke_event.json"
	f.events <- "shutdown_event.json"
	f.events <- "shutdown_unknown_reason.json"

	ev, err := c.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType != Invoke || ev.RequestID != "3da1f2dc-3222-475e-9205-e2e6c6318895" || ev.DeadlineMs != 1712345678901 ||
		ev.InvokedFunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:ordering" || ev.Tracing == nil || ev.Tracing.Type != "X-Amzn-Trace-Id" {
		t.Errorf("INVOKE = %+v", ev)
	}
	if !ev.Deadline().Equal(time.UnixMilli(1712345678901)) {
		t.Errorf("Deadline() = %v", ev.Deadline())
	}
	if got := f.last().Header.Get(headerID); got != testID {
		t.Errorf("next sent identifier %q, want %q", got, testID)
	}

	ev, err = c.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType != Shutdown || ev.ShutdownReason != "spindown" || ev.DeadlineMs != 1712345680901 {
		t.Errorf("SHUTDOWN = %+v", ev)
	}
	ev, err = c.Next(ctxT(t))
	if err != nil || ev.EventType != Shutdown || ev.ShutdownReason != "maintenance" {
		t.Errorf("SHUTDOWN with an unknown reason = %+v, %v; want it accepted as is", ev, err)
	}
}

// Next waits as long as there is no event, well past the client timeout of the other calls; only its
// context ends it.
func TestNextHasNoClientTimeout(t *testing.T) {
	f := newFake(t)
	c := registered(t, f, Options{Timeout: 50 * time.Millisecond})
	go func() {
		time.Sleep(400 * time.Millisecond)
		f.events <- "invoke_event.json"
	}()
	if ev, err := c.Next(ctxT(t)); err != nil || ev.EventType != Invoke {
		t.Fatalf("Next = %+v, %v; want the INVOKE sent after 400ms", ev, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: err = %v, want context.Canceled", err)
	}
}

func TestNextRejectsAnEventWithoutType(t *testing.T) {
	f := newFake(t)
	c := registered(t, f, Options{})
	f.events <- "register_response.json" // valid JSON, but not an event
	if _, err := c.Next(ctxT(t)); err == nil || !strings.Contains(err.Error(), "eventType") {
		t.Fatalf("err = %v, want one about the missing eventType", err)
	}
}

func TestInitAndExitErrorSendTypeAndMessage(t *testing.T) {
	for _, op := range []string{"init/error", "exit/error"} {
		t.Run(op, func(t *testing.T) {
			f := newFake(t)
			c := registered(t, f, Options{})
			call := c.InitError
			if op == "exit/error" {
				call = c.ExitError
			}
			if err := call(ctxT(t), "Extension.ConfigInvalid", "BREAKERBOX_PORT=\"x\": not a port"); err != nil {
				t.Fatal(err)
			}
			req := f.last()
			if req.Path != "/2020-01-01/extension/"+op || req.Header.Get(headerErrorType) != "Extension.ConfigInvalid" || req.Header.Get(headerID) != testID {
				t.Errorf("request %s type %q id %q", req.Path, req.Header.Get(headerErrorType), req.Header.Get(headerID))
			}
			var doc struct{ ErrorMessage, ErrorType string }
			if err := json.Unmarshal([]byte(req.Body), &doc); err != nil || doc.ErrorType != "Extension.ConfigInvalid" || !strings.Contains(doc.ErrorMessage, "BREAKERBOX_PORT") {
				t.Errorf("body %q (%v)", req.Body, err)
			}
		})
	}
}

func TestErrorCallRefusedIsAnAPIError(t *testing.T) {
	f := newFake(t)
	c := registered(t, f, Options{})
	f.errorAns = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(fixture(t, "error_unknown_extension.json"))
	}
	err := c.ExitError(ctxT(t), "Extension.Crash", "bye")
	var ae *APIError
	if !errors.As(err, &ae) || ae.ErrorType != "Extension.UnknownExtensionIdentifier" || ae.Op != "exit/error" {
		t.Fatalf("err = %v, want the API's errorType in an *APIError", err)
	}
}

func TestAPIErrorWithAPlainBodyKeepsIt(t *testing.T) {
	e := apiError("next", 500, []byte("  upstream broke \n"))
	if e.Message != "upstream broke" || e.ErrorType != "" || !strings.Contains(e.Error(), "status 500") {
		t.Errorf("APIError = %+v (%q)", e, e.Error())
	}
}

func TestNewRefusesBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "http://127.0.0.1:9001"} {
		if _, err := New(addr, Options{}); err == nil {
			t.Errorf("New(%q) succeeded", addr)
		}
	}
}
