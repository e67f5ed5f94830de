package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// The real binary, asked by a client that does not follow the rules: HEAD, a method a path does not
// take, a query string, a compressed body, the token twice, and a body trickled a byte at a time,
// which is cut off (408) while other callers are served.
func TestAdversarialRequestsToTheBinary(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now()})
	r.invoke(step{Method: "GET", Path: "/healthz", Token: "-"}) // the sandbox is up, its extension listening
	p, ok := r.ports.Load(0)
	if !ok {
		t.Fatal("no port for sandbox 0")
	}
	base := "http://127.0.0.1:" + strconv.Itoa(p.(int))
	hc := &http.Client{Timeout: time.Minute}
	call := func(method, path string, body []byte, hdr map[string][]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Breakerbox-Token", r.token)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"ok":true,"latencyMs":5}`))
	_ = zw.Close()
	for _, tc := range []struct {
		method, path string
		body         []byte
		hdr          map[string][]string
		status       int
		want         string
	}{
		{"HEAD", "/v1/circuits/inventory", nil, nil, 200, ""},
		{"HEAD", "/healthz", nil, nil, 200, ""},
		{"POST", "/v1/circuits/acquire", nil, nil, 405, `"method_not_allowed"`},
		{"POST", "/v1/circuits/inventory/acquire?call=false", nil, nil, 400, `"invalid_query"`},
		{"POST", "/v1/circuits/inventory/outcomes", gz.Bytes(), map[string][]string{"Content-Encoding": {"gzip"}}, 415, `"unsupported_encoding"`},
		{"GET", "/v1/stats", nil, map[string][]string{"X-Breakerbox-Token": {r.token, "wrong"}}, 401, "send it once"},
		{"GET", "/v1/circuits/inventory/", nil, nil, 404, "did you mean /v1/circuits/inventory "},
	} {
		resp, body := call(tc.method, tc.path, tc.body, tc.hdr)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d saying %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q, want GET, HEAD", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}

	// A body trickled a byte every 200 ms.
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.(int)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.WriteString(c, "POST /v1/circuits/inventory/outcomes HTTP/1.1\r\nHost: x\r\nX-Breakerbox-Token: "+r.token+
		"\r\nContent-Length: 10000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := c.Write([]byte{' '}); err != nil {
					return
				}
			}
		}
	}()
	if resp, body := call("POST", "/v1/circuits/inventory/acquire", nil, nil); resp.StatusCode != 200 {
		t.Errorf("acquire while another caller trickles its body: %d %s", resp.StatusCode, body)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a trickled body is never answered: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"request_timeout"`) {
		t.Errorf("trickled body: %d %s, want 408 request_timeout", resp.StatusCode, b)
	}
}
