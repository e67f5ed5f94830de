package emf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/emf"
)

func TestLine(t *testing.T) {
	var buf bytes.Buffer
	w := emf.New(&buf, func() time.Time { return time.UnixMilli(1_700_000_000_123) })
	err := w.Write(emf.Metrics{
		Circuit: "inventory", BatchSize: 4, Calls: 10, LatencyP50: 1500 * time.Microsecond, LatencyP99: 2 * time.Second,
		ErrorRate: 0.25, Tripped: true, Properties: map[string]any{"reason": "aimd: +1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(buf.String(), "}\n") || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("want one JSON line, got %q", buf.String())
	}
	want := `{"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"breakerbox","Dimensions":[["Circuit"]],
		"Metrics":[{"Name":"BatchSize","Unit":"Count"},{"Name":"ErrorRate","Unit":"Percent"},{"Name":"Tripped","Unit":"Count"},
		{"Name":"LatencyP50","Unit":"Milliseconds"},{"Name":"LatencyP99","Unit":"Milliseconds"}]}]},
		"Circuit":"inventory","BatchSize":4,"ErrorRate":25,"Tripped":1,"LatencyP50":1.5,"LatencyP99":2000,"reason":"aimd: +1"}`
	var got, exp any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("line\n%s\nwant\n%s", g, e)
	}
}

func TestNoCallsNoLatency(t *testing.T) {
	var buf bytes.Buffer
	if err := emf.New(&buf, nil).Write(emf.Metrics{Circuit: "c", BatchSize: 1}); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); strings.Contains(s, "Latency") || !strings.Contains(s, `"Tripped":0`) {
		t.Fatalf("line %s", s)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestWriteErrorIsReturned(t *testing.T) {
	if err := emf.New(failing{}, nil).Write(emf.Metrics{Circuit: "c"}); err == nil || !strings.Contains(err.Error(), "emf: write metrics of c: closed") {
		t.Fatalf("err = %v", err)
	}
}
