package timeline

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Printer writes the human timeline: a header, one row per tick, one line per event, and on a
// terminal a progress line kept at the bottom. It is safe for concurrent use.
type Printer struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	color    bool
	prev     *Sample
	progress string
}

// NewPrinter returns a Printer on w. tty enables the progress line (redrawn in place) and color the
// ANSI colours of the circuit states.
func NewPrinter(w io.Writer, tty, color bool) *Printer {
	return &Printer{w: w, tty: tty, color: color}
}

// Line prints a line of text above the progress line.
func (p *Printer) Line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.print(fmt.Sprintf(format, args...))
}

// print writes one line, keeping the progress line at the bottom; p.mu is held.
func (p *Printer) print(line string) {
	if p.tty && p.progress != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, line)
	if p.tty && p.progress != "" {
		fmt.Fprint(p.w, p.progress)
	}
}

// Header prints the column titles.
func (p *Printer) Header() {
	p.Line("%s", header)
}

const header = "  time   phase      circuit    mapping   batch  conc  calls/s   err%  slow%   done / fed    dlq"

// Row prints the sample s as a row; rates are over the time since the previous row.
func (p *Printer) Row(s Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := Sample{}
	if p.prev != nil {
		prev = *p.prev
	}
	cur := s
	p.prev = &cur
	p.print(FormatRow(prev, s, p.color))
}

// FormatRow formats s as a row, with the call rate and the error and slow shares over the calls
// since prev.
func FormatRow(prev, s Sample, color bool) string {
	dt := (s.At - prev.At).Seconds()
	calls := s.Calls - prev.Calls
	rate, errs, slow := "-", "-", "-"
	if dt > 0 {
		rate = fmt.Sprintf("%.1f", float64(calls)/dt)
	}
	if calls > 0 {
		errs = fmt.Sprintf("%.0f%%", 100*float64(s.Errors-prev.Errors)/float64(calls))
		slow = fmt.Sprintf("%.0f%%", 100*float64(s.Slow-prev.Slow)/float64(calls))
	}
	circuit := s.Circuit
	if circuit == "" {
		circuit = "-"
	}
	mapping := strings.ToLower(s.Mapping)
	if mapping == "" {
		mapping = "-"
	}
	return fmt.Sprintf("  %s  %-9s  %s  %-8s  %5d  %4d  %7s  %5s  %5s  %6d / %-6d %4d",
		Clock(s.At), s.Phase, paint(fmt.Sprintf("%-9s", circuit), circuit, color), mapping, s.Batch, s.Concurrency, rate, errs, slow, s.Done, s.Fed, s.DLQ)
}

// Event prints e on a line of its own.
func (p *Printer) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.print(FormatEvent(e, p.color))
}

// FormatEvent formats e as a timeline line.
func FormatEvent(e Event, color bool) string {
	var text string
	switch e.Kind {
	case KindPhase:
		text = fmt.Sprintf("── provider %s: %s ──", strings.ToUpper(e.To), e.Reason)
	case KindCircuit:
		mark := "●"
		switch e.To {
		case "OPEN", "FORCED_OPEN":
			mark = "✖"
		case "HALF_OPEN":
			mark = "◐"
		case "CLOSED", "FORCED_CLOSED":
			mark = "✔"
		}
		from := e.From
		if from == "" {
			from = "(new)"
		}
		if e.Via != "" {
			from += " → " + e.Via
		}
		text = fmt.Sprintf("%s circuit %s → %s  %s", mark, from, paint(e.To, e.To, color), e.Reason)
	case KindMapping:
		switch {
		case e.To == "Enabled" && e.Via == "event":
			text = fmt.Sprintf("▶ mapping enabled at batch size %d, woken by the circuit's state-change event: the ventilator reads the stream again", e.Batch)
		case e.To == "Enabled" && e.Via == "schedule":
			text = fmt.Sprintf("▶ mapping enabled at batch size %d, woken by the schedule (the backstop): the ventilator reads the stream again", e.Batch)
		case e.To == "Enabled":
			text = fmt.Sprintf("▶ mapping enabled at batch size %d: the ventilator reads the stream again", e.Batch)
		default:
			text = fmt.Sprintf("⏸ mapping %s: the ventilator stopped reading the stream (records wait in Kinesis)", strings.ToLower(e.To))
		}
	default:
		text = e.Kind + " " + e.To + " " + e.Reason
	}
	return fmt.Sprintf("  %s  %s", Clock(e.At), text)
}

// Progress redraws the progress line (terminals only).
func (p *Printer) Progress(elapsed, total time.Duration, phase string, phaseLeft time.Duration, fed, done, dlq int) {
	if !p.tty {
		return
	}
	const width = 24
	filled := 0
	if total > 0 {
		filled = int(float64(width) * min(1, float64(elapsed)/float64(total)))
	}
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	where := fmt.Sprintf("%s, %s left", phase, phaseLeft.Round(time.Second))
	if elapsed >= total {
		where = "draining the backlog"
	}
	line := fmt.Sprintf("  ▕%s▏ %s / %s  %s  ·  fed %d  done %d  dlq %d", bar, Clock(elapsed), Clock(total), where, fed, done, dlq)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress = line
	fmt.Fprint(p.w, "\r\033[K"+line)
}

// EndProgress removes the progress line, so what follows starts on a clean line.
func (p *Printer) EndProgress() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.progress != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.progress = ""
}

// Clock formats d as mm:ss.
func Clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// paint colours text by circuit state on terminals.
func paint(text, state string, color bool) string {
	if !color {
		return text
	}
	code := ""
	switch state {
	case "CLOSED", "FORCED_CLOSED":
		code = "32"
	case "OPEN", "FORCED_OPEN":
		code = "31"
	case "HALF_OPEN":
		code = "33"
	}
	if code == "" {
		return text
	}
	return "\033[" + code + "m" + text + "\033[0m"
}
