package check_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TestMalformedInputFailsAndWritesNothing: every malformed input fails the invocation with an error
// that says what is wrong, before any probe or write. A valid target next to a bad one is not
// probed either.
func TestMalformedInputFailsAndWritesNothing(t *testing.T) {
	r := newRig(t, nil)
	svc := newServer(t, ok)
	good := target("good", svc.URL, "")
	cases := []struct{ name, in, want string }{
		{"bad JSON", `{"id":"a","url":`, "not a JSON object"},
		{"not an object", `["a"]`, "not a JSON object"},
		{"empty", ``, "checker input is empty"},
		{"missing url", `{"id":"a"}`, `missing "url"`},
		{"missing id", `{"url":"` + svc.URL + `"}`, `missing "id"`},
		{"bad duration", target("a", svc.URL, `,"timeout":"4 seconds"`), `"timeout" "4 seconds" is not a duration`},
		{"negative duration", target("a", svc.URL, `,"slowCall":"-1s"`), `"slowCall" "-1s" must be positive`},
		{"invalid id", target("a b", svc.URL, ""), `invalid circuit id "a b"`},
		{"unsupported scheme", target("a", "ftp://example.com/x", ""), `unsupported scheme "ftp"`},
		{"no scheme", target("a", "example.com/health", ""), "has no scheme"},
		{"bad expectStatus", target("a", svc.URL, `,"expectStatus":"2xx"`), `"expectStatus"`},
		{"bad method", target("a", svc.URL, `,"method":"FETCH"`), `"method" "FETCH" is not supported`},
		{"unknown field", target("a", svc.URL, `,"timout":"1s"`), `unknown field "timout"`},
		{"wrong case", target("a", svc.URL, `,"Timeout":"1s"`), `did you mean "timeout"`},
		{"wrong type", target("a", svc.URL, `,"timeout":4`), `field "timeout": want a duration string`},
		{"bad target in list", `{"targets":[` + good + `,{"id":"b","url":"gopher://x"}]}`, `targets[1]: id "b": "url"`},
		{"duplicate id", `{"targets":[` + good + `,` + good + `]}`, `both probe circuit "good"`},
		{"empty list", `{"targets":[]}`, `"targets" is empty`},
		{"too many", `{"targets":[` + strings.TrimSuffix(strings.Repeat(good+",", 501), ",") + `]}`, "501 targets, at most 500"},
		{"raw scheduled event", `{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, "is an EventBridge event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.h.Handle(ctxT(t), json.RawMessage(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	out, err := r.db.Scan(ctxT(t), &dynamodb.ScanInput{TableName: strPtr(r.st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 0 || svc.hits.Load() != 0 || len(r.pub.all()) != 0 {
		t.Fatalf("malformed input wrote %d items, sent %d probes, published %d events", out.Count, svc.hits.Load(), len(r.pub.all()))
	}
}

// TestAWSSampleShape: {"ID","URL"} is read as id and url with every default.
func TestAWSSampleShape(t *testing.T) {
	r := newRig(t, nil)
	svc := newServer(t, ok)
	sum := r.run(t, `{"ID":"sample","URL":"`+svc.URL+`"}`)
	if got := sum.Targets[0]; got.ID != "sample" || !got.Probed || !got.OK || svc.hits.Load() != 1 {
		t.Fatalf("%+v", got)
	}
}

func strPtr(s string) *string { return &s }
