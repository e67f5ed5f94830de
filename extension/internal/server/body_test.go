package server

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCompressedBodyIsRefused: a body sent with a Content-Encoding is a 415 that says to send it
// uncompressed, not an "invalid character '\x1f'" that sends its sender looking at the JSON.
func TestCompressedBodyIsRefused(t *testing.T) {
	r := newRig(t, token)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"ok":true,"latencyMs":5}`))
	_ = zw.Close()
	for _, tc := range []struct {
		path, encoding string
		body           []byte
		status         int
	}{
		{"/v1/circuits/inventory/outcomes", "gzip", gz.Bytes(), 415},
		{"/v1/circuits/inventory/acquire", "gzip", gz.Bytes(), 415},
		{"/v1/circuits/inventory/outcomes", "br", []byte(`{"ok":true,"latencyMs":5}`), 415},
		{"/v1/circuits/inventory/outcomes", "identity, gzip", gz.Bytes(), 415},
		{"/v1/circuits/inventory/outcomes", "identity", []byte(`{"ok":true,"latencyMs":5}`), 202},
		{"/v1/circuits/inventory/outcomes", "IDENTITY", []byte(`{"ok":true,"latencyMs":5}`), 202},
	} {
		req, err := http.NewRequest("POST", r.srv.URL+tc.path, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(TokenHeader, token)
		req.Header.Set("Content-Encoding", tc.encoding)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s with Content-Encoding %s: %d %s, want %d", tc.path, tc.encoding, resp.StatusCode, b.String(), tc.status)
			continue
		}
		if tc.status == 415 {
			if errorCode(t, b.String()) != "unsupported_encoding" || !strings.Contains(b.String(), "send the body uncompressed") || resp.Header.Get("Accept-Encoding") != "identity" {
				t.Errorf("%s with Content-Encoding %s: %s (Accept-Encoding %q)", tc.path, tc.encoding, b.String(), resp.Header.Get("Accept-Encoding"))
			}
		}
		r.healthy()
	}
}

// TestBodyErrorsSayWhatToSend: a body that is not JSON, or not an object, is answered with what the
// endpoint takes, not only with the parser's complaint ("unexpected end of JSON input").
func TestBodyErrorsSayWhatToSend(t *testing.T) {
	r := newRig(t, token)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/circuits/inventory/outcomes", "", `empty body: send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/outcomes", " \n", `empty body: send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/outcomes", "hello", `send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/outcomes", "[]", `body is a JSON array, not an object; send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/outcomes", "null", `body is JSON null, not an object; send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/outcomes", `"x"`, `body is a JSON string, not an object; send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/outcomes", `{"ok":true,"latencyMs":5`, `send {"outcomes":[...]} or one outcome`},
		{"/v1/circuits/inventory/acquire", "junk", `acquire takes no body, or {"call":false}`},
		{"/v1/circuits/inventory/acquire", "[true]", `body is a JSON array, not an object; acquire takes no body, or {"call":false}`},
	} {
		st, _, body := r.call("POST", tc.path, token, strings.NewReader(tc.body))
		if st != 400 || errorCode(t, body) != "invalid_json" || !strings.Contains(body, strings.ReplaceAll(tc.want, `"`, `\"`)) {
			t.Errorf("POST %s %q: %d %s, want 400 invalid_json saying %s", tc.path, tc.body, st, body, tc.want)
		}
	}
}

// TestLongErrorIsCutAtACharacter: an outcome's error past 256 bytes is cut where a character
// starts, never inside one (which would leave broken UTF-8 in the circuit's reason).
func TestLongErrorIsCutAtACharacter(t *testing.T) {
	r := newRig(t, token)
	msg := strings.Repeat("x", 255) + "é and more"
	for _, body := range []string{
		`{"ok":false,"latencyMs":5,"error":"` + msg + `"}`,      // the one-pass decode
		`{"\u006fk":false,"latencyMs":5,"error":"` + msg + `"}`, // an escaped name: the strict one
	} {
		if st, _, resp := r.call("POST", "/v1/circuits/inventory/outcomes", token, strings.NewReader(body)); st != 202 {
			t.Fatalf("%s: %d %s", body, st, resp)
		}
	}
	r.svc.mu.Lock()
	defer r.svc.mu.Unlock()
	got := r.svc.reports["inventory"]
	if len(got) != 2 {
		t.Fatalf("reported %d outcomes, want 2", len(got))
	}
	for _, o := range got {
		if !utf8.ValidString(o.Err) || o.Err != strings.Repeat("x", 255) {
			t.Errorf("error cut to %q (valid UTF-8: %v), want the 255 x before the é", o.Err, utf8.ValidString(o.Err))
		}
	}
}
