package input_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/input"
)

func TestThreeShapes(t *testing.T) {
	single := `{"id":"inventory","url":"https://api.example.com/health","timeout":"3s","method":"head","expectStatus":"200,204","slowCall":"800ms","headers":{"X-Api-Key":"k"},"followRedirects":true}`
	ts, err := input.Parse([]byte(single))
	if err != nil {
		t.Fatal(err)
	}
	got := ts[0]
	if len(ts) != 1 || got.ID != "inventory" || got.URL.String() != "https://api.example.com/health" || got.Timeout != 3*time.Second ||
		got.Method != http.MethodHead || got.Expect.String() != "200,204" || got.SlowCall != 800*time.Millisecond ||
		got.Headers.Get("X-Api-Key") != "k" || !got.FollowRedirects {
		t.Fatalf("single: %+v", got)
	}

	ts, err = input.Parse([]byte(`{"targets":[{"id":"a","url":"http://a.example"},{"ID":"b","URL":"https://b.example/x"}]}`))
	if err != nil || len(ts) != 2 || ts[0].ID != "a" || ts[1].ID != "b" || ts[1].URL.Host != "b.example" {
		t.Fatalf("list: %+v %v", ts, err)
	}

	ts, err = input.Parse([]byte(` {"ID":"sample","URL":"https://sample.example/"} `))
	if err != nil {
		t.Fatal(err)
	}
	d := ts[0]
	if d.ID != "sample" || d.Timeout != input.DefaultTimeout || d.Method != "GET" || d.Expect.String() != "200-399" ||
		d.SlowCall != 0 || d.Headers != nil || d.FollowRedirects {
		t.Fatalf("AWS sample shape with defaults: %+v", d)
	}
}

func TestErrorsSayWhatIsWrong(t *testing.T) {
	cases := map[string]string{
		`{"id":"a","URL":"http://x","url":"http://y"}`:                                           `both "URL" and "url" are set`,
		`{"targets":[{"id":"a","url":"http://x"}],"id":"b"}`:                                     `"targets" must be the only field, found also "id"`,
		`{"targets":{"id":"a"}}`:                                                                 `"targets" must be a list`,
		`{"targets":[1]}`:                                                                        "targets[0] is not a JSON object",
		`null`:                                                                                   "checker input is empty",
		`{"id":"a","url":"http://x","timeout":"10m"}`:                                            "over the 5m0s limit",
		`{"id":"a","url":"http://x","headers":{"Bad Name":"v"}}`:                                 `"Bad Name" is not a valid header name`,
		`{"id":"a","url":"http://x","headers":{"X":"a\r\nB: c"}}`:                                "line break",
		`{"id":"a","url":"http://x","expectStatus":"399-200"}`:                                   "runs backwards",
		`{"id":"a","url":"http://x","expectStatus":"700"}`:                                       "from 100 to 599",
		`{"id":"a","url":"https://"}`:                                                            "has no host",
		`{"id":"a","url":"http://x","followRedirects":"yes"}`:                                    `field "followRedirects": want true or false`,
		`{"id":"a","url":"http://x","headers":{"X-Api-Key":null}}`:                               `header "X-Api-Key" is null`,
		`{"id":"a","url":"http://x","slowCall":"5s"}`:                                            `"slowCall" "5s" is not below the default timeout 4s`,
		`{"id":"a","url":"http://x","timeout":"2s","slowCall":"2s"}`:                             `"slowCall" "2s" is not below the timeout 2s`,
		`{"id":"a","url":"http://x","headers":{"x-key":"1","X-Key":"2"}}`:                        `"X-Key" and "x-key" name the same header`,
		`{"id":"a","url":"http://x","headers":{"content-length":"4"}}`:                           `"content-length" is set by the HTTP client`,
		`{"id":"a","id":"b","url":"http://x"}`:                                                   `field "id" appears twice`,
		`{"targets":[{"id":"a","url":"http://x"},{"id":"b","url":"http://x","url":"http://y"}]}`: `field "targets[1].url" appears twice`,
		`{"id":"a","url":"http://x","headers":{"X":"1","X":"2"}}`:                                `field "headers.X" appears twice`,
	}
	for in, want := range cases {
		_, err := input.Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func TestStatusSet(t *testing.T) {
	s, err := input.ParseStatusSet(" 200-299 , 304,418 ")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{199: false, 200: true, 299: true, 300: false, 304: true, 418: true, 500: false} {
		if s.Contains(code) != want {
			t.Errorf("Contains(%d) = %v", code, !want)
		}
	}
	if s.String() != "200-299,304,418" {
		t.Fatalf("String() = %q", s.String())
	}
}

// TestEncodeRoundTrips: what breakerctl writes as a rule's input is exactly what Parse reads back.
func TestEncodeRoundTrips(t *testing.T) {
	spec := input.Spec{ID: "inventory", URL: "https://api.example.com/health", Timeout: "4s"}
	b, err := input.Encode(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":"inventory","url":"https://api.example.com/health","timeout":"4s"}` {
		t.Fatalf("encoded %s", b)
	}
	ts, err := input.Parse(b)
	if err != nil || ts[0].ID != "inventory" || ts[0].Timeout != 4*time.Second {
		t.Fatalf("parse back: %+v %v", ts, err)
	}
	if _, err := input.Encode(input.Spec{ID: "x"}); err == nil {
		t.Fatal("Encode accepted a spec without url")
	}
	var back input.Spec
	if err := json.Unmarshal(b, &back); err != nil || back.ID != spec.ID || back.URL != spec.URL || back.Timeout != spec.Timeout {
		t.Fatalf("spec round trip: %+v %v", back, err)
	}
}

// A port out of range is the rule's mistake, not the service's: probing it fails every time
// ("invalid port") and would open a healthy service's circuit, so the input is refused instead.
func TestURLPortOutOfRangeIsRefused(t *testing.T) {
	for _, in := range []string{
		`{"id":"a","url":"https://api.example.com:99999/health"}`,
		`{"id":"a","url":"http://api.example.com:0/"}`,
	} {
		_, err := input.Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), "port") {
			t.Errorf("%s: err = %v, want an error about the port", in, err)
		}
	}
	if _, err := input.Parse([]byte(`{"id":"a","url":"http://api.example.com:8080/"}`)); err != nil {
		t.Errorf("port 8080: %v", err)
	}
}
