package server

import (
	"strings"
	"testing"
)

// TestMethodsAndPaths sends every route the methods a user may try, and paths that are an endpoint
// but for a slash: a GET route answers HEAD, a 405 names in Allow the methods the path really takes,
// and a 404 says what to send instead.
func TestMethodsAndPaths(t *testing.T) {
	r := newRig(t, token)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string // the Allow header of a 405
		msg          string // in the error message
	}{
		{"HEAD", "/healthz", 200, "", ""},
		{"HEAD", "/v1/stats", 200, "", ""},
		{"HEAD", "/v1/circuits", 200, "", ""},
		{"HEAD", "/v1/circuits/inventory", 200, "", ""},
		{"HEAD", "/v1/circuits/nobody", 404, "", ""},
		{"HEAD", "/v1/circuits/inventory/acquire", 405, "POST", ""},
		{"OPTIONS", "/v1/circuits/inventory", 405, "GET, HEAD", "use GET, HEAD"},
		{"OPTIONS", "/healthz", 405, "GET, HEAD", "use GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD", ""},
		{"DELETE", "/v1/circuits/inventory/acquire", 405, "POST", "use POST"},
		{"GET", "/v1/circuits/inventory/outcomes", 405, "POST", "use POST"},
		// The circuit named "acquire": its path takes GET and HEAD, not POST.
		{"POST", "/v1/circuits/acquire", 405, "GET, HEAD", "POST /v1/circuits/{id}/acquire"},
		{"POST", "/v1/circuits/outcomes", 405, "GET, HEAD", "POST /v1/circuits/{id}/outcomes"},
		{"FOO", "/v1/circuits/inventory", 405, "GET, HEAD", "use GET, HEAD"},
		{"FOO", "/nothing", 404, "", "the endpoints are"},
		{"GET", "/v1/circuits/", 404, "", "did you mean /v1/circuits ("},
		{"GET", "/v1/circuits/inventory/", 404, "", "did you mean /v1/circuits/inventory ("},
		{"GET", "/v1//circuits/inventory", 404, "", "did you mean /v1/circuits/inventory ("},
		{"POST", "/v1/circuits/inventory/acquire/", 404, "", "did you mean /v1/circuits/inventory/acquire ("},
		{"GET", "/v1/circuit/inventory", 404, "", "the endpoints are GET /healthz"},
	} {
		st, h, body := r.call(tc.method, tc.path, token, nil)
		if st != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, st, body, tc.status)
			continue
		}
		if tc.method == "HEAD" {
			if body != "" || h.Get("Content-Type") != "application/json" {
				t.Errorf("HEAD %s: body %q, Content-Type %q; want none and application/json", tc.path, body, h.Get("Content-Type"))
			}
		} else if st >= 400 {
			errorCode(t, body)
		}
		if got := h.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if tc.msg != "" && !strings.Contains(body, tc.msg) {
			t.Errorf("%s %s: %s, want it to say %q", tc.method, tc.path, body, tc.msg)
		}
	}
}

// TestQueryIsRefused: the API takes no query parameters; one sent is a 400 that names it, not
// ignored (?call=false would name the call it meant not to).
func TestQueryIsRefused(t *testing.T) {
	r := newRig(t, token)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/v1/circuits/inventory/acquire?call=false"},
		{"GET", "/v1/circuits/inventory?consistent=true"},
		{"GET", "/v1/stats?x"},
		{"GET", "/healthz?probe=1"},
	} {
		st, _, body := r.call(tc.method, tc.path, token, nil)
		if st != 400 || errorCode(t, body) != "invalid_query" || !strings.Contains(body, tc.path[strings.IndexByte(tc.path, '?'):]) {
			t.Errorf("%s %s: %d %s, want 400 invalid_query naming it", tc.method, tc.path, st, body)
		}
	}
	if st, _, body := r.call("GET", "/v1/circuits/inventory?", token, nil); st != 200 {
		t.Errorf("an empty query: %d %s", st, body)
	}
}

// TestLongPathIsNotEchoed: a 404 or 405 on a path of hundreds of KB names it cut short, rather than
// echo it whole.
func TestLongPathIsNotEchoed(t *testing.T) {
	r := newRig(t, token)
	long := strings.Repeat("a", 100_000)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/" + long},
		{"GET", "/v1/circuits/x/" + long},
		{"GET", "/v1/circuits/x/" + long + "/"},
		{"POST", "/" + long},
	} {
		st, _, body := r.call(tc.method, tc.path, token, nil)
		if st != 404 || len(body) > 1000 {
			t.Errorf("%s of a %d-byte path: %d and %d bytes, want a 404 of at most 1000", tc.method, len(tc.path), st, len(body))
		}
		errorCode(t, body)
	}
}
