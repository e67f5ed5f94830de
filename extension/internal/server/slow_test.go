package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
)

// shortReadTimeout runs NewServer's servers with a short read bound for the test: the tests wait
// for it to pass, and bound what they wait for with seconds of slack beside it.
func shortReadTimeout(t *testing.T) time.Duration {
	t.Helper()
	const d = time.Second
	prev := readTimeout
	readTimeout = d
	t.Cleanup(func() { readTimeout = prev })
	return d
}

// serve runs NewServer over svc on a loopback listener and returns its address.
func serve(t *testing.T, svc Service) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Handler(svc, Options{Token: token}), slog.New(slog.DiscardHandler))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// dial opens a raw connection whose reads give up after limit, so a test never hangs.
func dial(t *testing.T, addr string, limit time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(limit))
	return c
}

// acquireOnce answers whether a separate, well-behaved caller is served.
func acquireOnce(addr string) error {
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/circuits/inventory/acquire", nil)
	req.Header.Set(TokenHeader, token)
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New(resp.Status)
	}
	return nil
}

// TestTrickledBodyIsCutOff: a client that sends its body a byte at a time is answered 408 once the
// read bound has passed and its connection is closed, instead of holding a server goroutine for
// as long as it trickles; other callers are served meanwhile.
func TestTrickledBodyIsCutOff(t *testing.T) {
	shortReadTimeout(t)
	addr := serve(t, &fakeService{})
	body := `{"ok":true,"latencyMs":5}`
	c := dial(t, addr, 30*time.Second)
	if _, err := io.WriteString(c, "POST /v1/circuits/inventory/outcomes HTTP/1.1\r\nHost: x\r\n"+TokenHeader+": "+token+
		"\r\nContent-Length: 1000\r\n\r\n"+body[:2]); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one byte every 100 ms, for up to 30 s
		defer wg.Done()
		for i := 0; i < 300; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{' '}); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	if err := acquireOnce(addr); err != nil {
		t.Fatalf("another caller while one trickles: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || errorCode(t, string(b)) != "request_timeout" || !strings.Contains(string(b), "send the whole body at once") {
		t.Fatalf("trickled body: %d %s, want 408 request_timeout", resp.StatusCode, b)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection of a trickled body still open after the answer: read %d, %v", n, err)
	}
}

// TestUnreadBodyIsCutOff: a GET whose declared body never comes is answered, and its connection is
// closed once the read bound has passed, not held while the server waits for the rest.
func TestUnreadBodyIsCutOff(t *testing.T) {
	shortReadTimeout(t)
	addr := serve(t, &fakeService{})
	c := dial(t, addr, 30*time.Second)
	if _, err := io.WriteString(c, "GET /v1/circuits/inventory HTTP/1.1\r\nHost: x\r\n"+TokenHeader+": "+token+"\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET with a body that never comes: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n, err := br.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection still open once the read bound passed: read %d, %v", n, err)
	}
}

// TestKeepAliveOutlivesTheReadBound: an idle keep-alive connection is not closed by the read bound
// (the function holds its connections across freezes), and a handler that runs past the bound after
// reading its body keeps its context.
func TestKeepAliveOutlivesTheReadBound(t *testing.T) {
	d := shortReadTimeout(t)
	svc := &ctxService{fakeService: &fakeService{stake: breaker.StakeDecision}, hold: 2 * d}
	addr := serve(t, svc)
	c := dial(t, addr, time.Minute)
	br := bufio.NewReader(c)
	send := func(what string) {
		t.Helper()
		body := `{"ok":false,"latencyMs":5}`
		if _, err := io.WriteString(c, "POST /v1/circuits/inventory/outcomes HTTP/1.1\r\nHost: x\r\n"+TokenHeader+": "+token+
			"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("%s: %d %s", what, resp.StatusCode, b)
		}
	}
	send("first request")
	if err := svc.err(); err != nil {
		t.Fatalf("a write that ran past the read bound lost its context: %v", err)
	}
	time.Sleep(2 * d) // idle for longer than the read bound
	send("second request on the same connection, idle past the read bound")
}

// ctxService holds each WriteIfDue for hold and records whether its context ended meanwhile.
type ctxService struct {
	*fakeService
	hold time.Duration
	mu   sync.Mutex
	last error
}

func (s *ctxService) WriteIfDue(ctx context.Context, _ string) error {
	select {
	case <-ctx.Done():
	case <-time.After(s.hold):
	}
	s.mu.Lock()
	s.last = ctx.Err()
	s.mu.Unlock()
	return nil
}

func (s *ctxService) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
