// Package emfsplit separates a Lambda function's output, as the local Lambda environment writes it
// (one "[function#sandbox process] " prefixed line at a time), into its CloudWatch Embedded Metric
// Format lines and everything else.
package emfsplit

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// Splitter is an io.Writer that writes EMF lines, without the prefix, to Metrics and every other
// line, as is, to Logs. It is safe for concurrent use. Writes never fail; the first error of either
// destination is kept in Err.
type Splitter struct {
	mu      sync.Mutex
	metrics io.Writer
	logs    io.Writer
	buf     []byte
	count   int
	err     error
	// wakes counts the wake-ups that re-enabled the mapping, by trigger; last is the latest's.
	wakes map[string]int
	last  string
	// concurrency is the latest line's Concurrency metric.
	concurrency int
}

// Concurrency returns the Concurrency metric of the latest EMF line that had one (0 before).
func (s *Splitter) Concurrency() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.concurrency
}

// Wakes returns how many wake-up lines (EMF lines with "wakeUp": true, written when a wake-up
// re-enabled the mapping) each trigger ("event", "schedule") wrote, and the latest one's trigger.
func (s *Splitter) Wakes() (byTrigger map[string]int, last string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.wakes))
	for k, v := range s.wakes {
		out[k] = v
	}
	return out, s.last
}

// New returns a Splitter; either writer may be nil to drop its lines.
func New(metrics, logs io.Writer) *Splitter {
	return &Splitter{metrics: metrics, logs: logs}
}

// Write implements io.Writer.
func (s *Splitter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.line(s.buf[:i])
		s.buf = s.buf[i+1:]
	}
	if len(s.buf) == 0 {
		s.buf = nil
	}
	return len(p), nil
}

// Metrics returns the number of EMF lines seen.
func (s *Splitter) Metrics() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Err returns the first write error of a destination.
func (s *Splitter) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Splitter) line(l []byte) {
	body := l
	if len(l) > 0 && l[0] == '[' {
		if i := bytes.Index(l, []byte("] ")); i >= 0 {
			body = l[i+2:]
		}
	}
	if IsEMF(body) {
		s.count++
		var w struct {
			WakeUp      bool   `json:"wakeUp"`
			Trigger     string `json:"trigger"`
			Concurrency int    `json:"Concurrency"`
		}
		// A scrape of the ventilator's own metric line: only these fields matter here.
		err := json.Unmarshal(body, &w)
		if err == nil && w.Concurrency > 0 {
			s.concurrency = w.Concurrency
		}
		if err == nil && w.WakeUp {
			if s.wakes == nil {
				s.wakes = map[string]int{}
			}
			s.wakes[w.Trigger]++
			s.last = w.Trigger
		}
		s.write(s.metrics, body)
		return
	}
	s.write(s.logs, l)
}

func (s *Splitter) write(w io.Writer, b []byte) {
	if w == nil {
		return
	}
	out := make([]byte, 0, len(b)+1)
	out = append(append(out, b...), '\n')
	if _, err := w.Write(out); err != nil && s.err == nil {
		s.err = err
	}
}

// IsEMF reports whether b is a JSON object with the "_aws" metadata of Embedded Metric Format.
func IsEMF(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"_aws"`)) {
		return false
	}
	var doc struct {
		AWS *struct {
			CloudWatchMetrics json.RawMessage `json:"CloudWatchMetrics"`
		} `json:"_aws"`
	}
	return json.Unmarshal(b, &doc) == nil && doc.AWS != nil && len(doc.AWS.CloudWatchMetrics) > 0
}
