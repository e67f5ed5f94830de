package check_test

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// TestEveryFailureClassifiedAndTrippedByPolicy runs one input with every kind of target three times:
// each failure is written to lastError in its class, and the third failure in a row opens the
// circuit (the consecutive-failure rule), while healthy answers keep theirs CLOSED.
func TestEveryFailureClassifiedAndTrippedByPolicy(t *testing.T) {
	r := newRig(t, nil)
	healthy := newServer(t, ok)
	broken := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	slow := newServer(t, func(w http.ResponseWriter, _ *http.Request) { time.Sleep(150 * time.Millisecond) })
	hang := newServer(t, hanging(t))
	landing := newServer(t, ok)
	redirect := newServer(t, func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, landing.URL+"/moved", http.StatusFound)
	})
	endless := newServer(t, func(w http.ResponseWriter, req *http.Request) {
		buf := make([]byte, 16<<10)
		for req.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	refused := closedPort(t)

	in := `{"targets":[` + strings.Join([]string{
		target("healthy", healthy.URL, ""),
		target("status500", broken.URL, ""),
		target("slow", slow.URL, `,"slowCall":"50ms"`),
		target("hanging", hang.URL, `,"timeout":"300ms"`),
		target("refused", "http://"+refused+"/health", ""),
		target("nodns", "http://nothing-here.invalid/health", ""),
		target("badtls", tlsSrv.URL, ""),
		target("redirect", redirect.URL, `,"expectStatus":"200-299"`),
		target("redirect-ok", redirect.URL, ""),
		target("endless", endless.URL, `,"timeout":"2s"`),
	}, ",") + `]}`
	want := map[string]string{ // id → lastError ("" for healthy)
		"healthy":     "",
		"status500":   "status 500 (want 200-399)",
		"slow":        "slow: ",
		"hanging":     "timeout",
		"refused":     "connect: connection refused",
		"nodns":       "dns: no such host nothing-here.invalid",
		"badtls":      "tls: certificate signed by unknown authority",
		"redirect":    "redirect 302 to " + landing.URL + "/moved (want 200-299)",
		"redirect-ok": "",
		"endless":     "",
	}
	for round := 1; round <= 3; round++ {
		start := time.Now()
		sum := r.run(t, in)
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("round %d took %s", round, took)
		}
		res := byID(sum)
		for id, lastErr := range want {
			got, c := res[id], r.get(t, id)
			if !got.Probed || got.OK != (lastErr == "") || !strings.HasPrefix(got.Error, lastErr) || (lastErr == "") != (got.Error == "") {
				t.Fatalf("round %d, %s: result %+v, want error %q", round, id, got, lastErr)
			}
			if !strings.HasPrefix(c.LastError, lastErr) || c.CheckedAt.IsZero() {
				t.Fatalf("round %d, %s: stored lastError %q checkedAt %v, want %q", round, id, c.LastError, c.CheckedAt, lastErr)
			}
			wantState := circuit.Closed
			if lastErr != "" && round == 3 {
				wantState = circuit.Open
			}
			if c.State != wantState || got.State != string(wantState) {
				t.Fatalf("round %d, %s: stored %s, reported %s; want %s", round, id, c.State, got.State, wantState)
			}
			if wantState == circuit.Open {
				if len(got.Transitions) != 1 || got.Transitions[0].From != "CLOSED" || got.Transitions[0].To != "OPEN" ||
					!strings.HasPrefix(got.Transitions[0].Reason, "3 consecutive failures") {
					t.Fatalf("%s: transitions %+v, want one CLOSED → OPEN for 3 consecutive failures", id, got.Transitions)
				}
			} else if len(got.Transitions) != 0 {
				t.Fatalf("round %d, %s: unexpected transitions %+v", round, id, got.Transitions)
			}
		}
		if round == 3 && (sum.Failed != 7 || sum.Healthy != 3 || sum.Transitions != 7 || sum.Errors != 0) {
			t.Fatalf("summary %+v", sum)
		}
	}
	if n := landing.hits.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times; it must not be by default", n)
	}
	if got := len(r.pub.all()); got != 7 {
		t.Fatalf("%d events published, want 7", got)
	}
	// OPEN now: the next run sends nothing to the failing services and writes nothing.
	hitsBefore := broken.hits.Load()
	before := r.get(t, "status500").Version
	sum := r.run(t, in)
	if got := byID(sum)["status500"]; got.Probed || !strings.HasPrefix(got.Skipped, "open until ") {
		t.Fatalf("OPEN circuit: %+v, want skipped", got)
	}
	if broken.hits.Load() != hitsBefore || r.get(t, "status500").Version != before {
		t.Fatal("an OPEN circuit before retryAt was probed or written")
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
