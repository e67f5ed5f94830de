package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"
)

// fakeExtension answers like the extension and records reports and tokens.
type fakeExtension struct {
	mu      sync.Mutex
	acquire string // body of the acquire answer
	reports []string
	tokens  []string
	srv     *httptest.Server
}

func newFake(t *testing.T, acquire string) *fakeExtension {
	f := &fakeExtension{acquire: acquire}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/circuits/{id}/acquire", func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			f.record(r, "acquire "+string(b))
		}
		f.record(r, "")
		_, _ = io.WriteString(w, f.acquire)
	})
	mux.HandleFunc("POST /v1/circuits/{id}/outcomes", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.record(r, r.PathValue("id")+" "+string(b))
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":1}`)
	})
	mux.HandleFunc("GET /v1/circuits/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.record(r, "")
		if r.PathValue("id") != "inventory" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"circuit \"x\" not found"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"inventory","state":"OPEN","allowed":false,"since":"2026-11-22T12:00:00.123Z","retryAt":"2026-11-22T12:00:30.000Z","reason":"3 consecutive failures","version":4,"stale":true,"ageMs":12}`)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeExtension) record(r *http.Request, report string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, r.Header.Get(TokenHeader))
	if report != "" {
		f.reports = append(f.reports, report)
	}
}

func (f *fakeExtension) got() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reports...), append([]string(nil), f.tokens...)
}

const allowedWithPermit = `{"allowed":true,"state":"HALF_OPEN","permit":"P1","call":"c-1","stale":false,"reason":"probing"}`
const denied = `{"allowed":false,"state":"OPEN","retryAt":"2026-11-22T12:00:30.000Z","stale":false,"reason":"failure rate 60% ≥ 50% over 10 calls; open for 30s"}`

// mustNew is New for tests whose environment is valid.
func mustNew(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewReadsTheEnvironment(t *testing.T) {
	t.Setenv("BREAKERBOX_PORT", "5123")
	t.Setenv("AWS_SESSION_TOKEN", "tok")
	t.Setenv("BREAKERBOX_FAIL_MODE", "closed")
	c := mustNew(t)
	if c.base != "http://127.0.0.1:5123" || c.token != "tok" || c.FailOpen() {
		t.Errorf("client = %+v", c)
	}
	t.Setenv("BREAKERBOX_AUTH", "none")
	t.Setenv("BREAKERBOX_PORT", "")
	t.Setenv("BREAKERBOX_FAIL_MODE", " Open ")
	c = mustNew(t)
	if c.base != "http://127.0.0.1:4243" || c.token != "" || !c.FailOpen() {
		t.Errorf("client = %+v", c)
	}
}

// A setting the client cannot use is an error naming the variable, never read as a default: a
// misspelt fail mode that silently became "open" would let calls through that the user meant to deny.
func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"BREAKERBOX_FAIL_MODE": "clsoed"}, []string{`BREAKERBOX_FAIL_MODE="clsoed"`, "want open", "or closed"}},
		{map[string]string{"BREAKERBOX_PORT": "nonsense"}, []string{`BREAKERBOX_PORT="nonsense"`, "1 to 65535"}},
		{map[string]string{"BREAKERBOX_PORT": "70000"}, []string{`BREAKERBOX_PORT="70000"`}},
		{map[string]string{"BREAKERBOX_AUTH": "off"}, []string{`BREAKERBOX_AUTH="off"`, "token or none"}},
		{map[string]string{"BREAKERBOX_PORT": "+4243"}, []string{`BREAKERBOX_PORT="+4243"`, "1 to 65535"}},        // the extension refuses it
		{map[string]string{"BREAKERBOX_AUTH": "token"}, []string{`BREAKERBOX_AUTH="token"`, "AWS_SESSION_TOKEN"}}, // ... and this, at init
		{map[string]string{"BREAKERBOX_FAIL_MODE": "deny", "BREAKERBOX_PORT": "-1"}, []string{"BREAKERBOX_FAIL_MODE", "BREAKERBOX_PORT"}},
	} {
		t.Run(strings.Join(tc.want, "+"), func(t *testing.T) {
			for _, k := range []string{"BREAKERBOX_FAIL_MODE", "BREAKERBOX_PORT", "BREAKERBOX_AUTH", "AWS_SESSION_TOKEN"} {
				t.Setenv(k, tc.env[k])
			}
			c, err := New()
			if err == nil || c != nil || !errors.Is(err, ErrConfig) {
				t.Fatalf("New() = %v, %v; want an ErrConfig", c, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// An option that sets what a variable sets overrides the variable, mistakes included.
func TestOptionsOverrideBadSettings(t *testing.T) {
	t.Setenv("BREAKERBOX_FAIL_MODE", "clsoed")
	t.Setenv("BREAKERBOX_PORT", "x")
	t.Setenv("BREAKERBOX_AUTH", "off")
	c, err := New(WithFailOpen(false), WithBaseURL("http://127.0.0.1:1"), WithToken(""))
	if err != nil || c.FailOpen() {
		t.Fatalf("New with every setting overridden: %v, %v", c, err)
	}
	if _, err := New(WithFailOpen(false), WithToken("")); err == nil || !strings.Contains(err.Error(), "BREAKERBOX_PORT") {
		t.Errorf("New with the port not overridden: %v, want an error naming BREAKERBOX_PORT", err)
	}
}

// Do reports the outcome with the permit and the call's name acquire gave, so that the extension
// knows which call under way ended.
func TestDoReportsTheOutcomeWithThePermit(t *testing.T) {
	f := newFake(t, allowedWithPermit)
	c := mustNew(t, WithBaseURL(f.srv.URL), WithToken("tok"))
	boom := errors.New("inventory: status 503\nbody")
	err := c.Do(context.Background(), "inventory", func(context.Context) error {
		time.Sleep(20 * time.Millisecond)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Do = %v, want fn's error", err)
	}
	reports, tokens := f.got()
	if len(reports) != 1 {
		t.Fatalf("reports = %q", reports)
	}
	id, body, _ := strings.Cut(reports[0], " ")
	var rep struct {
		Outcomes []struct {
			OK        bool
			LatencyMs float64
			Permit    string
			Call      string
			Error     string
		}
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil || id != "inventory" || len(rep.Outcomes) != 1 {
		t.Fatalf("report %q (%v)", reports[0], err)
	}
	o := rep.Outcomes[0]
	if o.OK || o.Permit != "P1" || o.Call != "c-1" || o.LatencyMs < 20 || o.Error != "inventory: status 503" {
		t.Errorf("outcome = %+v", o)
	}
	for _, tok := range tokens {
		if tok != "tok" {
			t.Errorf("token sent %q", tok)
		}
	}
}

func TestDoWhenOpenDoesNotCall(t *testing.T) {
	f := newFake(t, denied)
	c := mustNew(t, WithBaseURL(f.srv.URL))
	called := false
	err := c.Do(context.Background(), "inventory", func(context.Context) error { called = true; return nil })
	var oe *OpenError
	if !errors.Is(err, ErrOpen) || !errors.As(err, &oe) || called {
		t.Fatalf("Do = %v (called %v), want ErrOpen without calling", err, called)
	}
	if oe.Decision.State != "OPEN" || !oe.Decision.RetryAt.Equal(time.Date(2026, 11, 22, 12, 0, 30, 0, time.UTC)) || !strings.Contains(err.Error(), "retry at") {
		t.Errorf("OpenError = %+v (%v)", oe, err)
	}
	if reports, _ := f.got(); len(reports) != 0 {
		t.Errorf("reported a call that was not made: %q", reports)
	}
}

// unreachable is a URL where nothing listens.
func unreachable(t *testing.T) string {
	return "http://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t))
}

func TestUnreachableExtensionFollowsTheFailMode(t *testing.T) {
	url := unreachable(t)
	open := mustNew(t, WithBaseURL(url), WithFailOpen(true))
	d, err := open.Acquire(context.Background(), "inventory")
	if !errors.Is(err, ErrUnreachable) || !d.Allowed || !d.Unreachable || d.State != "UNKNOWN" {
		t.Fatalf("fail open: %+v, %v", d, err)
	}
	called := false
	if err := open.Do(context.Background(), "inventory", func(context.Context) error { called = true; return nil }); err != nil || !called {
		t.Fatalf("fail open Do = %v (called %v)", err, called)
	}

	closed := mustNew(t, WithBaseURL(url), WithFailOpen(false))
	err = closed.Do(context.Background(), "inventory", func(context.Context) error { t.Error("called"); return nil })
	if !errors.Is(err, ErrOpen) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("fail closed Do = %v, want ErrOpen caused by ErrUnreachable", err)
	}
}

func TestErrorAnswersFollowTheFailModeToo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"unauthorized","message":"wrong X-Breakerbox-Token"}}`)
	}))
	defer srv.Close()
	d, err := mustNew(t, WithBaseURL(srv.URL), WithFailOpen(false)).Acquire(context.Background(), "inventory")
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Code != "unauthorized" || d.Allowed || !d.Unreachable {
		t.Fatalf("401: %+v, %v", d, err)
	}
}

func TestStateAndNotFound(t *testing.T) {
	f := newFake(t, denied)
	c := mustNew(t, WithBaseURL(f.srv.URL))
	got, err := c.State(context.Background(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "OPEN" || got.Allowed || got.Version != 4 || !got.Stale || got.AgeMs != 12 || got.Reason != "3 consecutive failures" ||
		!got.Since.Equal(time.Date(2026, 11, 22, 12, 0, 0, 123e6, time.UTC)) {
		t.Errorf("State = %+v", got)
	}
	if _, err := c.State(context.Background(), "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v, want ErrNotFound", err)
	}
}

func TestInvalidIDsAreRefusedLocally(t *testing.T) {
	c := mustNew(t, WithBaseURL(unreachable(t)), WithFailOpen(true))
	for _, id := range []string{"", "a b", "café", strings.Repeat("x", 129)} {
		if err := c.Do(context.Background(), id, func(context.Context) error { t.Error("called"); return nil }); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Do(%q) = %v, want ErrInvalidID", id, err)
		}
		if err := c.Report(context.Background(), id, Outcome{OK: true}); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Report(%q) = %v", id, err)
		}
	}
}

// The caller's own cancellation is no outcome: Do sends the call's cancellation, by its name and
// permit, and nothing the extension would count.
func TestCallerCancellationIsNotReported(t *testing.T) {
	f := newFake(t, allowedWithPermit)
	c := mustNew(t, WithBaseURL(f.srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	err := c.Do(ctx, "inventory", func(ctx context.Context) error { cancel(); return ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v", err)
	}
	want := `inventory {"outcomes":[{"call":"c-1","permit":"P1","cancelled":true}]}`
	if reports, _ := f.got(); len(reports) != 1 || reports[0] != want {
		t.Errorf("sent %q for the caller's own cancellation, want only %q", reports, want)
	}
}

func TestWithFailureClassifies(t *testing.T) {
	f := newFake(t, allowedWithPermit)
	notMine := errors.New("validation error")
	c := mustNew(t, WithBaseURL(f.srv.URL), WithFailure(func(err error) bool { return !errors.Is(err, notMine) }))
	_ = c.Do(context.Background(), "inventory", func(context.Context) error { return notMine })
	reports, _ := f.got()
	if len(reports) != 1 || !strings.Contains(reports[0], `"ok":true`) {
		t.Errorf("reports = %q, want the call counted as ok", reports)
	}
}

// TestDeadlineIsReportedAsAFailure: a downstream that hangs until the caller's deadline is the
// commonest failure there is; Do reports it (with the permit), although the caller's ctx ended.
func TestDeadlineIsReportedAsAFailure(t *testing.T) {
	f := newFake(t, allowedWithPermit)
	c := mustNew(t, WithBaseURL(f.srv.URL), WithFailure(func(error) bool { return false })) // even a lenient classifier
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Do(ctx, "inventory", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do = %v, want the deadline's error", err)
	}
	reports, _ := f.got()
	if len(reports) != 1 || !strings.Contains(reports[0], `"ok":false`) || !strings.Contains(reports[0], `"error":"timeout: context deadline exceeded"`) {
		t.Fatalf("reports = %q, want one failure classified as a timeout", reports)
	}
}

// Acquire reads the call's name, and Report sends an outcome's Call only when it has one: an outcome
// without it is matched by the extension to a call under way, not to a call named "".
func TestCallNameFromAcquireToReport(t *testing.T) {
	f := newFake(t, allowedWithPermit)
	c := mustNew(t, WithBaseURL(f.srv.URL))
	d, err := c.Acquire(context.Background(), "inventory")
	if err != nil || d.Call != "c-1" {
		t.Fatalf("Acquire = %+v, %v; want call c-1", d, err)
	}
	if err := c.Report(context.Background(), "inventory", Outcome{OK: true, Latency: time.Millisecond, Call: d.Call}, Outcome{OK: true}); err != nil {
		t.Fatal(err)
	}
	reports, _ := f.got()
	want := `inventory {"outcomes":[{"ok":true,"latencyMs":1,"call":"c-1"},{"ok":true,"latencyMs":0}]}`
	if len(reports) != 1 || reports[0] != want {
		t.Errorf("reports = %q, want %q", reports, want)
	}
}

// AcquireBatch asks for an answer without a call name ({"call":false}); Acquire sends no body.
func TestAcquireBatchAsksForNoCallName(t *testing.T) {
	f := newFake(t, `{"allowed":true,"state":"CLOSED","stale":false,"reason":"ok"}`)
	c := mustNew(t, WithBaseURL(f.srv.URL), WithToken(""))
	if _, err := c.Acquire(context.Background(), "inventory"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.AcquireBatch(context.Background(), "inventory"); err != nil || !d.Allowed {
		t.Fatalf("AcquireBatch: %+v, %v", d, err)
	}
	if reports, _ := f.got(); len(reports) != 1 || reports[0] != `acquire {"call":false}` {
		t.Fatalf("acquire bodies %q, want only the batch's {\"call\":false}", reports)
	}
}
