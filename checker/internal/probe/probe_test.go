package probe_test

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/input"
	"github.com/breakerbox/breakerbox/checker/internal/probe"
)

func target(t *testing.T, spec input.Spec) input.Target {
	t.Helper()
	if spec.ID == "" {
		spec.ID = "svc"
	}
	tg, err := spec.Validate()
	if err != nil {
		t.Fatalf("spec %+v: %v", spec, err)
	}
	return tg
}

func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestClassification(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	var redirectedHits atomic.Int64
	healthy := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	broken := server(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	slow := server(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(150 * time.Millisecond) })
	hanging := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	landing := server(t, func(w http.ResponseWriter, r *http.Request) { redirectedHits.Add(1) })
	redirect := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, landing.URL+"/elsewhere", http.StatusFound)
	})
	endless := server(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	trickle := server(t, func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	})
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	timeout := "400ms"
	cases := []struct {
		name    string
		spec    input.Spec
		ok      bool
		errHas  string
		maxTime time.Duration
	}{
		{"healthy", input.Spec{URL: healthy.URL}, true, "", 0},
		{"500", input.Spec{URL: broken.URL}, false, "status 500 (want 200-399)", 0},
		{"slow", input.Spec{URL: slow.URL, SlowCall: "50ms"}, false, "slow: ", 0},
		{"hanging past timeout", input.Spec{URL: hanging.URL, Timeout: timeout}, false, "timeout", 2 * time.Second},
		{"connection refused", input.Spec{URL: "http://" + closedPort(t) + "/health"}, false, "connect: connection refused", 0},
		{"unresolvable host", input.Spec{URL: "http://no-such-service.invalid/health"}, false, "dns: no such host no-such-service.invalid", 0},
		{"bad TLS certificate", input.Spec{URL: tlsSrv.URL}, false, "tls: certificate signed by unknown authority", 0},
		{"redirect against 2xx", input.Spec{URL: redirect.URL, ExpectStatus: "200-299"}, false, "redirect 302 to " + landing.URL + "/elsewhere (want 200-299)", 0},
		{"redirect accepted, not followed", input.Spec{URL: redirect.URL}, true, "", 0},
		{"endless body", input.Spec{URL: endless.URL, Timeout: timeout}, true, "", 2 * time.Second},
		{"trickling body", input.Spec{URL: trickle.URL, Timeout: timeout}, false, "timeout", 2 * time.Second},
		{"TLS probe of plain HTTP", input.Spec{URL: strings.Replace(healthy.URL, "http:", "https:", 1)}, false, "tls: ", 0},
	}
	p := probe.New(nil)
	defer p.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r := p.Probe(context.Background(), target(t, c.spec), time.Second)
			took := time.Since(start)
			if r.OK != c.ok || !strings.Contains(r.Err, c.errHas) || r.Aborted {
				t.Fatalf("got %+v, want ok=%v err containing %q", r, c.ok, c.errHas)
			}
			if c.ok && r.Err != "" {
				t.Fatalf("healthy result carries err %q", r.Err)
			}
			if c.maxTime > 0 && took > c.maxTime {
				t.Fatalf("took %s, want under %s", took, c.maxTime)
			}
		})
	}
	if n := redirectedHits.Load(); n != 0 {
		t.Fatalf("redirect was followed %d times; redirects are not followed by default", n)
	}
}

func TestStatusErrorIsExact(t *testing.T) {
	s := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	r := probe.New(nil).Probe(context.Background(), target(t, input.Spec{URL: s.URL}), time.Second)
	if r.Err != "status 503 (want 200-399)" || r.Status != 503 {
		t.Fatalf("got %+v", r)
	}
}

func TestEndlessBodyReadsAtMost64KiB(t *testing.T) {
	var written atomic.Int64
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<10)
		for i := 0; i < 10<<10; i++ { // 10 MiB if anyone read it all
			n, err := w.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	r := probe.New(nil).Probe(context.Background(), target(t, input.Spec{URL: s.URL}), time.Second)
	if !r.OK {
		t.Fatalf("got %+v", r)
	}
	// The server may run ahead into socket buffers, but nowhere near the whole 10 MiB.
	time.Sleep(50 * time.Millisecond)
	if n := written.Load(); n > 4<<20 {
		t.Fatalf("server wrote %d bytes: the probe kept reading past its limit", n)
	}
}

func TestMethodHeadersAndRedirectFollowing(t *testing.T) {
	var gotMethod, gotAuth, gotHost atomic.Value
	final := server(t, func(w http.ResponseWriter, r *http.Request) {
		gotMethod.Store(r.Method)
		gotAuth.Store(r.Header.Get("Authorization"))
		gotHost.Store(r.Host)
	})
	r := probe.New(nil).Probe(context.Background(), target(t, input.Spec{
		URL: final.URL, Method: "head", Headers: map[string]string{"Authorization": "Bearer t", "Host": "api.example"},
	}), time.Second)
	if !r.OK || gotMethod.Load() != "HEAD" || gotAuth.Load() != "Bearer t" || gotHost.Load() != "api.example" {
		t.Fatalf("result %+v; server saw method %v auth %v host %v", r, gotMethod.Load(), gotAuth.Load(), gotHost.Load())
	}
	hop := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL, http.StatusMovedPermanently)
	})
	r = probe.New(nil).Probe(context.Background(), target(t, input.Spec{URL: hop.URL, ExpectStatus: "200", FollowRedirects: true}), time.Second)
	if !r.OK || r.Status != 200 {
		t.Fatalf("followed redirect: %+v", r)
	}
}

func TestCallerCancellationIsNotAFailure(t *testing.T) {
	s := server(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := probe.New(nil).Probe(ctx, target(t, input.Spec{URL: s.URL, Timeout: "5s"}), time.Second)
	if !r.Aborted || r.OK {
		t.Fatalf("got %+v, want Aborted", r)
	}
}

func TestTrustedTLS(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer s.Close()
	u, _ := url.Parse(s.URL)
	p := probe.New(s.Client().Transport.(*http.Transport).TLSClientConfig)
	r := p.Probe(context.Background(), target(t, input.Spec{URL: u.String()}), time.Second)
	if !r.OK {
		t.Fatalf("trusted TLS: %+v", r)
	}
}

// rawServer serves each connection with h, below net/http, for answers no http.Handler can give.
func rawServer(t *testing.T, h func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				h(c)
				<-done // hold the connection open until the test ends
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// probeWithin runs a probe and fails the test if it has not returned after limit, far past its
// own timeout: a probe that outlives its timeout outlives the invocation.
func probeWithin(t *testing.T, tg input.Target, limit time.Duration) probe.Result {
	t.Helper()
	got := make(chan probe.Result, 1)
	go func() { got <- probe.New(nil).Probe(context.Background(), tg, time.Second) }()
	select {
	case r := <-got:
		return r
	case <-time.After(limit):
		t.Fatalf("probe with a %s timeout still running after %s", tg.Timeout, limit)
		return probe.Result{}
	}
}

// TestSwitchingProtocolsAnswerEndsAtTheTimeout: a service that answers 101 (the probe asked for no
// upgrade) and then keeps the connection open must not hold the probe past its timeout: net/http
// hands the connection over as the body, with no deadline on it.
func TestSwitchingProtocolsAnswerEndsAtTheTimeout(t *testing.T) {
	u := rawServer(t, func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nx"))
	})
	r := probeWithin(t, target(t, input.Spec{URL: u, Timeout: "500ms"}), 30*time.Second)
	if r.OK || r.Status != 101 || r.Err != "status 101 (want 200-399)" {
		t.Fatalf("got %+v, want a failed probe with status 101", r)
	}
}

// TestRedirectToAnotherHostDropsTheTargetsHeaders: a followed redirect keeps the target's headers
// on its own host, and sends none of them (an API key among them) to another host, which the
// target's owner never gave them to. net/http itself drops only Authorization and cookies.
func TestRedirectToAnotherHostDropsTheTargetsHeaders(t *testing.T) {
	var gotKey, gotAgent atomic.Value
	other := server(t, func(w http.ResponseWriter, r *http.Request) {
		gotKey.Store(r.Header.Get("X-Api-Key"))
		gotAgent.Store(r.Header.Get("User-Agent"))
	})
	otherHost := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	var sameHostKey atomic.Value
	origin := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			sameHostKey.Store(r.Header.Get("X-Api-Key"))
			http.Redirect(w, r, otherHost+"/landing", http.StatusFound)
		default:
			http.Redirect(w, r, "/moved", http.StatusFound)
		}
	})
	r := probe.New(nil).Probe(context.Background(), target(t, input.Spec{
		URL: origin.URL, FollowRedirects: true, Headers: map[string]string{"X-Api-Key": "secret"},
	}), time.Second)
	if !r.OK || r.Status != 200 {
		t.Fatalf("got %+v", r)
	}
	if got := sameHostKey.Load(); got != "secret" {
		t.Fatalf("redirect on the target's own host carried X-Api-Key %q, want it kept", got)
	}
	if got := gotKey.Load(); got != "" {
		t.Fatalf("redirect to another host carried X-Api-Key %q, want none", got)
	}
	if got := gotAgent.Load(); got != "breakerbox-checker/1" {
		t.Fatalf("User-Agent %q on the other host", got)
	}
}

// TestFollowedRedirectFailuresSayRedirect: a followed redirect that goes nowhere (a loop, a scheme
// other than http or https) is a failure that names the redirect, not an error that reads as if
// the target's own URL were at fault.
func TestFollowedRedirectFailuresSayRedirect(t *testing.T) {
	loop := server(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/again", http.StatusFound) })
	toFTP := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://files.example/health", http.StatusMovedPermanently)
	})
	for _, c := range []struct{ url, want string }{
		{loop.URL, "redirect stopped after 10 redirects, the last to " + loop.URL + "/again"},
		{toFTP.URL, "redirect 301 to ftp://files.example/health: only http and https are followed"},
	} {
		r := probe.New(nil).Probe(context.Background(), target(t, input.Spec{URL: c.url, FollowRedirects: true}), time.Second)
		if r.OK || r.Err != c.want {
			t.Errorf("%s: got %+v, want error %q", c.url, r, c.want)
		}
	}
}

// TestClosedConnectionsSayClosed: a service that closes the connection before or in the middle of
// its answer fails the probe with words a reader understands, not Go's bare "EOF".
func TestClosedConnectionsSayClosed(t *testing.T) {
	for _, c := range []struct {
		name, answer, want string
	}{
		{"before the answer", "", "connection: closed without an answer"},
		{"in the headers", "HTTP/1.1 200 OK\r\nContent-Type: te", "connection: closed in the middle of the answer"},
		{"in the body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", "connection: closed in the middle of the answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			go func() {
				for {
					conn, err := l.Accept()
					if err != nil {
						return
					}
					http.ReadRequest(bufio.NewReader(conn))
					conn.Write([]byte(c.answer))
					conn.Close()
				}
			}()
			r := probeWithin(t, target(t, input.Spec{URL: "http://" + l.Addr().String()}), 30*time.Second)
			if r.OK || r.Err != c.want {
				t.Fatalf("got %+v, want error %q", r, c.want)
			}
		})
	}
}
