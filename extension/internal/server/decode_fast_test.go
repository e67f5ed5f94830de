package server

import (
	"reflect"
	"strings"
	"testing"
)

// fastBodies are reports of every shape, good and bad, for the fast decode against the strict one.
var fastBodies = []string{
	`{"outcomes":[{"ok":true,"latencyMs":12.5,"call":"c-7"},{"ok":false,"latencyMs":30,"error":"HTTP 503","permit":"p-1"}]}`,
	`{"ok":true,"latencyMs":3,"call":"c-1"}`,
	` { "ok" : false , "latencyMs" : 0 , "permit" : null , "call" : null , "error" : null } `,
	`{"ok":true,"latencyMs":3}`,
	`{"outcomes":[]}`,
	`{"outcomes":null}`,
	`{"outcomes":[null]}`,
	`{"outcomes":[{"ok":true}]}`,
	`{"outcomes":[{"ok":true,"latencyMs":1}],"ok":true}`,
	`{"outcomes":[{"ok":true,"latencyMs":1}],"permit":null}`,
	`{"outcomes":[{"OK":true,"latencyMs":1}]}`,
	`{"Ok":true,"latencyMs":1}`,
	`{"ok":true,"latency":1}`,
	`{"ok":true,"latencyMs":1,"extra":1}`,
	`{"ok":"true","latencyMs":1}`,
	`{"ok":true,"latencyMs":"1"}`,
	`{"ok":true,"latencyMs":-1}`,
	`{"ok":true,"latencyMs":86400001}`,
	`{"ok":true,"latencyMs":1,"permit":5}`,
	`{"ok":true,"latencyMs":1,"permit":"` + strings.Repeat("p", 129) + `"}`,
	`{"ok":true,"latencyMs":1,"error":"` + strings.Repeat("e", 300) + `"}`,
	`{"ok":true,"latencyMs":1,"call":5}`,
	`{"ok":true,"latencyMs":1,"call":"` + strings.Repeat("c", 64) + `"}`,
	`{"ok":true,"latencyMs":1,"call":"` + strings.Repeat("c", 65) + `"}`,
	`{"ok":true,"latencyMs":1,"Call":"c-1"}`,
	`{"ok":true,"latencyMs":1,"c\u0061ll":"c-1"}`,
	`{"outcomes":[{"ok":true,"latencyMs":1}],"call":"c-1"}`,
	`{"outcomes":[{"ok":true,"latencyMs":1,"call":"c-1","call":null}]}`,
	`{"ok":null,"latencyMs":1}`,
	`{"ok":true,"ok":null,"latencyMs":1}`,
	`{"ok":null,"ok":true,"latencyMs":1}`,
	`{"o\u006b":true,"latencyMs":1}`,
	`{"ok":true,"latencyMs":1,"error":"a \"quoted\": {x} [y]"}`,
	`{"ok":{"ok":true},"latencyMs":1}`,
	`{"outcomes":[[{"ok":true,"latencyMs":1}]]}`,
	`{"outcomes":{"a":{"ok":true,"latencyMs":1}}}`,
	`{}`, `[]`, `null`, `1`, ``, `{"ok":true,"latencyMs":1}x`, `{"ok":true,"latencyMs":1`, `{"ok`,
}

// The fast decode accepts only what the strict one accepts, with the same outcomes; and it takes the
// usual reports.
func TestFastOutcomesAgreeWithStrict(t *testing.T) {
	for _, body := range fastBodies {
		checkFastAgrees(t, []byte(body))
	}
	for _, body := range fastBodies[:4] {
		if _, ok := fastOutcomes([]byte(body)); !ok {
			t.Errorf("%s: a well-formed report left to the strict decode", body)
		}
	}
}

func FuzzFastOutcomesAgreeWithStrict(f *testing.F) {
	for _, body := range fastBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkFastAgrees(t, raw) })
}

func checkFastAgrees(t *testing.T, raw []byte) {
	t.Helper()
	fast, ok := fastOutcomes(raw)
	if !ok {
		return
	}
	strict, err := strictOutcomes(raw)
	if err != nil {
		t.Errorf("%s: the fast decode accepted what the strict one refuses: %v", raw, err)
		return
	}
	if !reflect.DeepEqual(fast, strict) {
		t.Errorf("%s: fast %+v, strict %+v", raw, fast, strict)
	}
}
