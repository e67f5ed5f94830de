package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/extension/client/clienttest"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// logBuffer is a slog destination a test can read while clients write to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(level string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, `"level":"`+level+`"`) {
			out = append(out, l)
		}
	}
	return out
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, nil)), b
}

// With nothing listening on BREAKERBOX_PORT the call is still made (fail open), the process logs
// one warning that says what to do, however many calls and clients, and counts the calls; when the
// extension comes back and goes away again, it warns again.
func TestUnreachableExtensionWarnsOncePerOutage(t *testing.T) {
	client.ResetWarnings()
	port := testkit.FreePort(t)
	t.Setenv("BREAKERBOX_PORT", strconv.Itoa(port))
	t.Setenv("BREAKERBOX_FAIL_MODE", "")
	t.Setenv("BREAKERBOX_AUTH", "none")
	log, out := newLogger()
	a, err := client.New(client.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.New(client.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, c := range []*client.Client{a, a, b, a} {
		if err := c.Do(context.Background(), "inventory", func(context.Context) error { calls++; return nil }); err != nil {
			t.Fatalf("Do with the extension unreachable, fail mode open: %v", err)
		}
	}
	if calls != 4 {
		t.Fatalf("%d of 4 calls made with the extension unreachable and the fail mode open", calls)
	}
	warns := out.lines("WARN")
	if len(warns) != 1 {
		t.Fatalf("%d warnings for one outage, want 1:\n%s", len(warns), strings.Join(warns, "\n"))
	}
	for _, want := range []string{"WITHOUT circuit-breaker protection", "layer is attached", "BREAKERBOX_PORT", "UnreachableCalls"} {
		if !strings.Contains(warns[0], want) {
			t.Errorf("warning %s does not say %q", warns[0], want)
		}
	}
	if a.UnreachableCalls() != 3 || b.UnreachableCalls() != 1 {
		t.Errorf("UnreachableCalls = %d and %d, want 3 and 1", a.UnreachableCalls(), b.UnreachableCalls())
	}

	// The extension comes back: an answer, no new warning.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"allowed":true,"state":"CLOSED"}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	if d, err := a.Acquire(context.Background(), "inventory"); err != nil || d.Unreachable {
		t.Fatalf("Acquire with the extension back: %+v %v", d, err)
	}
	if n := len(out.lines("WARN")); n != 1 {
		t.Errorf("%d warnings after the extension came back, want still 1", n)
	}
	// ... and goes away again: a second warning.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Do(context.Background(), "inventory", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := len(out.lines("WARN")); n != 2 {
		t.Errorf("%d warnings after the extension went away again, want 2", n)
	}
}

// A misspelt variable is named at New, with the one meant.
func TestNewWarnsAboutAMisspeltVariable(t *testing.T) {
	client.ResetWarnings()
	t.Setenv("BREAKERBOX_FAILMODE", "closed")
	t.Setenv("BREAKERBOX_CACHE_TTL", "5s") // the extension's: known, no warning
	log, out := newLogger()
	if _, err := client.New(client.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	warns := out.lines("WARN")
	if len(warns) != 1 || !strings.Contains(warns[0], "BREAKERBOX_FAILMODE") || !strings.Contains(warns[0], "did you mean BREAKERBOX_FAIL_MODE?") {
		t.Errorf("warnings %q, want one naming BREAKERBOX_FAILMODE and BREAKERBOX_FAIL_MODE", warns)
	}
}

// Bad arguments are refused by New, with the extension's words, not found out during an incident.
func TestNewRefusesBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		opts []client.Option
		want string
	}{
		{"disabled", "yes", nil, `BREAKERBOX_DISABLED="yes" is not valid`},
		{"timeout", "", []client.Option{client.WithTimeout(-time.Second)}, "WithTimeout(-1s) is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BREAKERBOX_DISABLED", tc.env)
			c, err := client.New(tc.opts...)
			if err == nil || c != nil || !errors.Is(err, client.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an ErrConfig saying %s", c, err, tc.want)
			}
		})
	}
}

// BREAKERBOX_DISABLED set after the client was made bypasses the breaker at the next call.
func TestDisabledIsReadAtEachCall(t *testing.T) {
	t.Setenv("BREAKERBOX_DISABLED", "")
	ext := clienttest.New()
	bb, err := ext.Client()
	if err != nil {
		t.Fatal(err)
	}
	ext.ForceOpen("inventory")
	called := false
	t.Setenv("BREAKERBOX_DISABLED", "true")
	if err := bb.Do(context.Background(), "inventory", func(context.Context) error { called = true; return nil }); err != nil || !called {
		t.Fatalf("Do while disabled: called=%v err=%v, want the call made", called, err)
	}
	if calls := ext.Calls(); len(calls) != 0 {
		t.Errorf("the disabled client asked the extension: %+v", calls)
	}
	if _, err := bb.State(context.Background(), "inventory"); !errors.Is(err, client.ErrDisabled) {
		t.Errorf("State while disabled: %v, want ErrDisabled", err)
	}
	t.Setenv("BREAKERBOX_DISABLED", "false")
	called = false
	if err := bb.Do(context.Background(), "inventory", func(context.Context) error { called = true; return nil }); !errors.Is(err, client.ErrOpen) || called {
		t.Errorf("Do after DISABLED=false on a forced-open circuit: called=%v err=%v, want ErrOpen", called, err)
	}
	t.Setenv("BREAKERBOX_DISABLED", "ture")
	if err := bb.Do(context.Background(), "inventory", func(context.Context) error { called = true; return nil }); !errors.Is(err, client.ErrConfig) || called {
		t.Errorf("Do with DISABLED=ture: called=%v err=%v, want ErrConfig", called, err)
	}
}

// The in-memory double forced OPEN sends the caller to its fallback, and records the calls; forced
// CLOSED, the call is made and its outcome reported.
func TestDoubleForcedOpenRunsTheFallback(t *testing.T) {
	t.Setenv("BREAKERBOX_DISABLED", "")
	ext := clienttest.New()
	bb, err := ext.Client()
	if err != nil {
		t.Fatal(err)
	}
	checkStock := func() string {
		err := bb.Do(context.Background(), "inventory", func(context.Context) error { return nil })
		if errors.Is(err, client.ErrOpen) {
			return "back-ordered" // the fallback
		}
		return "in stock"
	}
	ext.ForceOpen("inventory")
	if got := checkStock(); got != "back-ordered" {
		t.Errorf("forced OPEN: %s, want the fallback", got)
	}
	ext.ForceClosed("inventory")
	if got := checkStock(); got != "in stock" {
		t.Errorf("forced CLOSED: %s, want the call", got)
	}
	calls := ext.Calls()
	if len(calls) != 3 || calls[0].Op != clienttest.OpAcquire || calls[0].Allowed || !calls[1].Allowed || calls[2].Op != clienttest.OpReport {
		t.Errorf("calls %+v, want a denied acquire, an allowed one and a report", calls)
	}
	if o := ext.Outcomes("inventory"); len(o) != 1 || !o[0].OK {
		t.Errorf("outcomes %+v, want one success", o)
	}
}

// The double names each allowed call, none denied, and records the name each outcome brought back:
// Do reports every call under the name its own acquire gave.
func TestDoubleNamesCallsAndRecordsThemReported(t *testing.T) {
	t.Setenv("BREAKERBOX_DISABLED", "")
	ext := clienttest.New()
	bb, err := ext.Client()
	if err != nil {
		t.Fatal(err)
	}
	ext.ForceOpen("payments")
	_ = bb.Do(context.Background(), "payments", func(context.Context) error { return nil })
	for range 2 {
		_ = bb.Do(context.Background(), "inventory", func(context.Context) error { return nil })
	}
	calls := ext.Calls()
	if len(calls) != 5 || calls[0].Name != "" {
		t.Fatalf("calls %+v, want a denied acquire without a name, then two acquires and reports", calls)
	}
	var names []string
	for _, c := range calls[1:] {
		if c.Op == clienttest.OpAcquire {
			names = append(names, c.Name)
		}
	}
	outs := ext.Outcomes("inventory")
	if len(names) != 2 || names[0] == "" || names[0] == names[1] || len(outs) != 2 || outs[0].Call != names[0] || outs[1].Call != names[1] {
		t.Errorf("acquires named %q, outcomes %+v: want two distinct names, each reported back", names, outs)
	}
}

// The double honours the request's context as a real transport does: a caller whose context has
// ended gets its error from Do, the call does not run, and the double records no acquire.
func TestDoubleHonoursAnEndedContext(t *testing.T) {
	t.Setenv("BREAKERBOX_DISABLED", "")
	ext := clienttest.New()
	bb, err := ext.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := bb.Do(ctx, "inventory", func(context.Context) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Do with an ended context: %v (ran %v), want context.Canceled and no call", err, ran)
	}
	if calls := ext.Calls(); len(calls) != 0 {
		t.Errorf("the double answered a cancelled request: %+v", calls)
	}
}
