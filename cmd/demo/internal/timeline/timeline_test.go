package timeline

import (
	"bufio"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRecorderWritesEventsAsJSONLines(t *testing.T) {
	var b strings.Builder
	r := NewRecorder(&b)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			r.Event(Event{At: time.Duration(i) * 1500 * time.Millisecond, Kind: KindCircuit, From: "CLOSED", To: "OPEN", Reason: "5 consecutive failures", Phase: "down"})
			r.Sample(Sample{At: time.Duration(i) * time.Second})
		})
	}
	wg.Wait()
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	n := 0
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if e.Kind != KindCircuit || e.To != "OPEN" || e.Seconds < 0 {
			t.Errorf("line %q", sc.Text())
		}
		n++
	}
	if n != 20 || len(r.Events()) != 20 || len(r.Samples()) != 20 {
		t.Errorf("%d lines, %d events, %d samples, want 20 each", n, len(r.Events()), len(r.Samples()))
	}
}

func TestFormatRow(t *testing.T) {
	prev := Sample{At: 10 * time.Second, Calls: 100, Errors: 10, Slow: 0}
	cur := Sample{At: 12 * time.Second, Phase: "degraded", Circuit: "CLOSED", Mapping: "Enabled", Batch: 4, Concurrency: 3, Calls: 120, Errors: 15, Slow: 8, Fed: 200, Done: 150, DLQ: 2}
	row := FormatRow(prev, cur, false)
	for _, want := range []string{"00:12", "degraded", "CLOSED", "enabled", " 4 ", " 3 ", "10.0", "25%", "40%", "150 / 200", "2"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q has no %q", row, want)
		}
	}
	idle := FormatRow(cur, Sample{At: 14 * time.Second, Calls: 120, Errors: 15, Slow: 8}, false)
	if !strings.Contains(idle, "0.0") || !strings.Contains(idle, "  -  ") {
		t.Errorf("row without calls %q: want a rate of 0.0 and no shares", idle)
	}
}

func TestFormatEvent(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{At: 61 * time.Second, Kind: KindPhase, To: "down", Reason: "100% of calls fail"}, "01:01  ── provider DOWN: 100% of calls fail ──"},
		{Event{Kind: KindCircuit, From: "CLOSED", To: "OPEN", Reason: "5 consecutive failures"}, "✖ circuit CLOSED → OPEN  5 consecutive failures"},
		{Event{Kind: KindCircuit, From: "OPEN", Via: "HALF_OPEN", To: "OPEN", Reason: "probe failed"}, "circuit OPEN → HALF_OPEN → OPEN  probe failed"},
		{Event{Kind: KindCircuit, To: "CLOSED", Reason: "created"}, "✔ circuit (new) → CLOSED"},
		{Event{Kind: KindMapping, To: "Enabled", Batch: 1}, "▶ mapping enabled at batch size 1"},
		{Event{Kind: KindMapping, To: "Disabled"}, "⏸ mapping disabled"},
	} {
		if got := FormatEvent(tc.e, false); !strings.Contains(got, tc.want) {
			t.Errorf("FormatEvent(%+v) = %q, want it to contain %q", tc.e, got, tc.want)
		}
	}
	if got := FormatEvent(Event{Kind: KindCircuit, From: "CLOSED", To: "OPEN"}, true); !strings.Contains(got, "\033[31mOPEN\033[0m") {
		t.Errorf("coloured OPEN: %q", got)
	}
}

func TestPrinterKeepsProgressAtTheBottom(t *testing.T) {
	var b strings.Builder
	p := NewPrinter(&b, true, false)
	p.Progress(5*time.Second, 20*time.Second, "healthy", 5*time.Second, 10, 8, 0)
	p.Line("hello")
	p.EndProgress()
	out := b.String()
	if !strings.Contains(out, "\r\033[Khello\n") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("output %q: a line must clear the progress line and redraw it after", out)
	}
	var plain strings.Builder
	q := NewPrinter(&plain, false, false)
	q.Progress(time.Second, time.Minute, "healthy", time.Second, 1, 1, 0)
	q.Line("x")
	if plain.String() != "x\n" {
		t.Errorf("not a terminal: %q, want only the line", plain.String())
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "00:00", -time.Second: "00:00", 59600 * time.Millisecond: "01:00", 125 * time.Second: "02:05"} {
		if got := Clock(d); got != want {
			t.Errorf("Clock(%s) = %s, want %s", d, got, want)
		}
	}
}
