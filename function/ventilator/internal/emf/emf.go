// Package emf writes the ventilator's metrics as CloudWatch Embedded Metric Format lines: one JSON
// object per line on stdout, which CloudWatch Logs turns into metrics without any API call.
//
// Namespace "breakerbox", dimension "Circuit"; metrics BatchSize (Count), Concurrency (Count, the
// fleet's calls in flight; only when known), LatencyP50 and LatencyP99 (Milliseconds, only when the
// batch made calls), ErrorRate (Percent) and Tripped (Count).
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "breakerbox"

// Metrics are the values of one ventilator batch.
type Metrics struct {
	// Circuit is the dimension's value.
	Circuit string
	// BatchSize is the batch size decided for the next batch.
	BatchSize int
	// Concurrency is the fleet-wide concurrency decided for the next batches; 0 leaves it out.
	Concurrency int
	// Calls is the number of worker calls; the latency metrics are left out when it is 0.
	Calls int
	// LatencyP50 and LatencyP99 are percentiles of the worker calls' latencies.
	LatencyP50, LatencyP99 time.Duration
	// ErrorRate is the share of failed calls, 0 to 1 (written as a percentage).
	ErrorRate float64
	// Tripped is true when the ventilator disabled its event source mapping.
	Tripped bool
	// Properties are extra fields of the log line (searchable in Logs Insights, not metrics).
	Properties map[string]any
}

// Writer writes EMF lines. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns a Writer on w (os.Stdout in the function); now nil means time.Now.
func New(w io.Writer, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{w: w, now: now}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Write writes m as one line.
func (w *Writer) Write(m Metrics) error {
	doc := make(map[string]any, len(m.Properties)+8)
	for k, v := range m.Properties {
		doc[k] = v
	}
	defs := []metricDef{{"BatchSize", "Count"}, {"ErrorRate", "Percent"}, {"Tripped", "Count"}}
	doc["Circuit"] = m.Circuit
	doc["BatchSize"] = m.BatchSize
	doc["ErrorRate"] = m.ErrorRate * 100
	tripped := 0
	if m.Tripped {
		tripped = 1
	}
	doc["Tripped"] = tripped
	if m.Concurrency > 0 {
		defs = append(defs, metricDef{"Concurrency", "Count"})
		doc["Concurrency"] = m.Concurrency
	}
	if m.Calls > 0 {
		defs = append(defs, metricDef{"LatencyP50", "Milliseconds"}, metricDef{"LatencyP99", "Milliseconds"})
		doc["LatencyP50"] = millis(m.LatencyP50)
		doc["LatencyP99"] = millis(m.LatencyP99)
	}
	doc["_aws"] = metadata{
		Timestamp:         w.now().UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: Namespace, Dimensions: [][]string{{"Circuit"}}, Metrics: defs}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("emf: encode metrics of %s: %w", m.Circuit, err)
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(line); err != nil {
		return fmt.Errorf("emf: write metrics of %s: %w", m.Circuit, err)
	}
	return nil
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
