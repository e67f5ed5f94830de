// Package chart draws the demo's timeline as an SVG with gonum.org/v1/plot: the ventilator's batch
// size, the circuit's state and the provider's calls over time, stacked on one time axis, with the
// provider's phases shaded.
package chart

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
)

// Span is a phase of the provider, in seconds since the start.
type Span struct {
	// Name is the phase's name; healthy, degraded, down and recovered have their own shade.
	Name string
	// Start and End are in seconds since the start.
	Start, End float64
}

// Input is what the chart shows.
type Input struct {
	// Title is drawn above the top panel.
	Title string
	// Phases are shaded in every panel.
	Phases []Span
	// Samples are the recorded samples, in time order; at least one.
	Samples []timeline.Sample
}

// phaseColors shade the phases by name; others get grey.
var phaseColors = map[string]color.Color{
	"healthy":   color.RGBA{R: 0xdf, G: 0xf0, B: 0xd8, A: 0xff},
	"degraded":  color.RGBA{R: 0xfc, G: 0xf3, B: 0xcf, A: 0xff},
	"down":      color.RGBA{R: 0xf8, G: 0xd7, B: 0xda, A: 0xff},
	"recovered": color.RGBA{R: 0xd9, G: 0xe8, B: 0xf5, A: 0xff},
}

var (
	blue  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	red   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	green = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	grey  = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
)

// Circuit state levels on the state panel.
const (
	levelClosed   = 0
	levelHalfOpen = 1
	levelOpen     = 2
)

// Write draws in as SVG to w.
func Write(w io.Writer, in Input) error {
	if len(in.Samples) == 0 {
		return errors.New("chart: no sample to draw")
	}
	end := in.Samples[len(in.Samples)-1].At.Seconds()
	for _, ph := range in.Phases {
		end = math.Max(end, ph.End)
	}

	batch, err := batchPanel(in, end)
	if err != nil {
		return err
	}
	state, err := statePanel(in, end)
	if err != nil {
		return err
	}
	calls, err := callsPanel(in, end)
	if err != nil {
		return err
	}
	plots := [][]*plot.Plot{{batch}, {state}, {calls}}

	const width, height = 11 * vg.Inch, 7 * vg.Inch
	c := vgsvg.New(width, height)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(6), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("chart: write SVG: %w", err)
	}
	return nil
}

// newPanel returns a plot over [0, end] seconds with the phases shaded up to top.
func newPanel(in Input, end, top float64, ylabel string) (*plot.Plot, error) {
	p := plot.New()
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = 0, end
	p.X.Tick.Marker = secondTicks(end)
	p.Y.Min, p.Y.Max = 0, top
	for _, ph := range in.Phases {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: ph.Start, Y: 0}, {X: ph.End, Y: 0}, {X: ph.End, Y: top}, {X: ph.Start, Y: top}})
		if err != nil {
			return nil, fmt.Errorf("chart: phase %s: %w", ph.Name, err)
		}
		poly.Color = phaseColors[ph.Name]
		if poly.Color == nil {
			poly.Color = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
		}
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// step returns a step line through xy: each value holds until the next point (states), or, with
// pre, since the previous one (rates over the interval).
func step(xy plotter.XYs, c color.Color, width float64, pre bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, fmt.Errorf("chart: line: %w", err)
	}
	l.StepStyle = plotter.PostStep
	if pre {
		l.StepStyle = plotter.PreStep
	}
	l.Color = c
	l.Width = vg.Points(width)
	return l, nil
}

// batchPanel: the batch size the ventilator reads, 0 while its mapping is disabled.
func batchPanel(in Input, end float64) (*plot.Plot, error) {
	top := 1.0
	xy := make(plotter.XYs, 0, len(in.Samples))
	for _, s := range in.Samples {
		v := 0.0
		if s.Enabled() {
			v = float64(s.Batch)
		}
		top = math.Max(top, v)
		xy = append(xy, plotter.XY{X: s.At.Seconds(), Y: v})
	}
	xy = append(xy, plotter.XY{X: end, Y: xy[len(xy)-1].Y})
	top = math.Ceil(top*1.3) + 1
	p, err := newPanel(in, end, top, "batch (0 = paused)")
	if err != nil {
		return nil, err
	}
	p.Title.Text = in.Title
	l, err := step(xy, blue, 1.5, false)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	// Phase names along the top.
	var lxy plotter.XYs
	var names []string
	for _, ph := range in.Phases {
		lxy = append(lxy, plotter.XY{X: ph.Start + (ph.End-ph.Start)/2, Y: top * 0.9})
		names = append(names, ph.Name)
	}
	if len(names) > 0 {
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: lxy, Labels: names})
		if err != nil {
			return nil, fmt.Errorf("chart: phase labels: %w", err)
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].XAlign = draw.XCenter
			labels.TextStyle[i].Color = grey
		}
		p.Add(labels)
	}
	return p, nil
}

// statePanel: the circuit's state as a level.
func statePanel(in Input, end float64) (*plot.Plot, error) {
	p, err := newPanel(in, end, 2.5, "circuit")
	if err != nil {
		return nil, err
	}
	p.Y.Min = -0.5
	p.Y.Tick.Marker = plot.ConstantTicks{{Value: levelClosed, Label: "CLOSED"}, {Value: levelHalfOpen, Label: "HALF_OPEN"}, {Value: levelOpen, Label: "OPEN"}}
	xy := make(plotter.XYs, 0, len(in.Samples))
	for _, s := range in.Samples {
		if lv, ok := level(s.Circuit); ok {
			xy = append(xy, plotter.XY{X: s.At.Seconds(), Y: lv})
		}
	}
	if len(xy) == 0 {
		return p, nil
	}
	xy = append(xy, plotter.XY{X: end, Y: xy[len(xy)-1].Y})
	l, err := step(xy, red, 1.5, false)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	return p, nil
}

// level maps a circuit label to its level on the state panel.
func level(label string) (float64, bool) {
	switch label {
	case "CLOSED", "FORCED_CLOSED":
		return levelClosed, true
	case "HALF_OPEN":
		return levelHalfOpen, true
	case "OPEN", "FORCED_OPEN":
		return levelOpen, true
	}
	return 0, false
}

// rates turns the provider's counters into successful and failed calls per second, over windows
// of about a second. Both counters count calls as they complete, so neither rate is negative.
func rates(samples []timeline.Sample) (ok, bad plotter.XYs) {
	if len(samples) == 0 {
		return nil, nil
	}
	last := samples[0]
	for _, s := range samples[1:] {
		dt := (s.At - last.At).Seconds()
		if dt < 1 {
			continue
		}
		ok = append(ok, plotter.XY{X: s.At.Seconds(), Y: float64(s.Succeeded-last.Succeeded) / dt})
		bad = append(bad, plotter.XY{X: s.At.Seconds(), Y: float64(s.Errors-last.Errors) / dt})
		last = s
	}
	return ok, bad
}

// callsPanel: the provider's successful and failed calls per second.
func callsPanel(in Input, end float64) (*plot.Plot, error) {
	ok, bad := rates(in.Samples)
	top := 1.0
	for i := range ok {
		top = math.Max(top, math.Max(ok[i].Y, bad[i].Y))
	}
	p, err := newPanel(in, end, math.Ceil(top*1.35), "provider calls/s")
	if err != nil {
		return nil, err
	}
	p.X.Label.Text = "seconds since the provider's clock started"
	if len(ok) == 0 {
		return p, nil
	}
	lo, err := step(ok, green, 1.2, true)
	if err != nil {
		return nil, err
	}
	lb, err := step(bad, red, 1.2, true)
	if err != nil {
		return nil, err
	}
	p.Add(lo, lb)
	p.Legend.Add("succeeded", lo)
	p.Legend.Add("failed", lb)
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// secondTicks labels the time axis every 10 s (every 30 s past 200 s), with minor ticks between.
func secondTicks(end float64) plot.ConstantTicks {
	major := 10.0
	if end > 200 {
		major = 30
	}
	var ticks plot.ConstantTicks
	for v := 0.0; v <= end; v += major / 2 {
		t := plot.Tick{Value: v}
		if math.Mod(v, major) == 0 {
			t.Label = strconv.Itoa(int(v))
		}
		ticks = append(ticks, t)
	}
	return ticks
}
