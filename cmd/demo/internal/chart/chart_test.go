package chart

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

func TestWriteIsSVG(t *testing.T) {
	var samples []timeline.Sample
	for i := range 60 {
		s := timeline.Sample{At: time.Duration(i) * 500 * time.Millisecond, Mapping: "Enabled", Batch: 1 + i%5, Circuit: "CLOSED", Calls: int64(3 * i), Errors: int64(i / 2), Succeeded: int64(2 * i)}
		if i > 30 && i < 40 {
			s.Mapping, s.Circuit = "Disabled", "OPEN"
		}
		samples = append(samples, s)
	}
	in := Input{Title: "test", Samples: samples, Phases: []Span{{Name: "healthy", Start: 0, End: 10}, {Name: "down", Start: 10, End: 20}, {Name: "recovered", Start: 20, End: 30}}}
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	root := rootElement(t, b.Bytes())
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	for _, want := range []string{"batch (0 = paused)", "HALF_OPEN", "provider calls/s", "recovered"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the chart has no %q", want)
		}
	}
}

// The calls panel is drawn from counters of completed calls: a rate is never negative, even when
// calls started in one interval fail in the next.
func TestCallRatesAreNeverNegative(t *testing.T) {
	samples := []timeline.Sample{
		{At: 0},
		{At: time.Second, Calls: 10, Succeeded: 10},
		{At: 2 * time.Second, Calls: 12, Succeeded: 10, Errors: 0}, // two calls in flight
		{At: 3 * time.Second, Calls: 12, Succeeded: 10, Errors: 2}, // they failed
	}
	p, err := callsPanel(Input{Samples: samples}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min < 0 {
		t.Errorf("calls panel goes down to %v", p.Y.Min)
	}
	ok, _ := rates(samples)
	for _, xy := range ok {
		if xy.Y < 0 {
			t.Errorf("negative success rate %v at %vs", xy.Y, xy.X)
		}
	}
}

func TestWriteNeedsSamples(t *testing.T) {
	if err := Write(io.Discard, Input{}); err == nil {
		t.Error("a chart without samples was written")
	}
}

// rootElement parses doc as XML to its end and returns the root element's name.
func rootElement(t *testing.T, doc []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
}
