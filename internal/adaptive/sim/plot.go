package sim

import (
	"fmt"
	"image/color"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// phaseColors shade the phases in turn.
var phaseColors = []color.Color{
	color.RGBA{R: 0xdf, G: 0xf0, B: 0xd8, A: 0xff}, // healthy: green
	color.RGBA{R: 0xfc, G: 0xf3, B: 0xcf, A: 0xff}, // degraded: yellow
	color.RGBA{R: 0xf8, G: 0xd7, B: 0xda, A: 0xff}, // outage: red
	color.RGBA{R: 0xd9, G: 0xe8, B: 0xf5, A: 0xff}, // recovered: blue
}

// lineColor is the colour of each policy's line, in the order of the outcomes.
var lineColors = []color.Color{
	color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// WritePlot draws the fleet's concurrency over virtual time, one panel per policy stacked over a shared time
// axis, with the scenario's phases shaded, and writes it to w as SVG.
func WritePlot(w io.Writer, sc Scenario, outs []Outcome) error {
	const width, panel = 12 * vg.Inch, 2.2 * vg.Inch
	if len(outs) == 0 {
		return fmt.Errorf("sim: plot: no outcome")
	}
	top := 1.0
	for _, o := range outs {
		for _, p := range o.Series {
			top = max(top, float64(p.Size))
		}
	}
	top *= 1.1
	end := sc.Duration().Minutes()

	plots := make([][]*plot.Plot, len(outs))
	for i, o := range outs {
		p := plot.New()
		p.Title.Text = o.Policy
		p.Y.Label.Text = "concurrency"
		p.X.Min, p.X.Max = 0, end
		p.X.Tick.Marker = minuteTicks(end)
		p.Y.Min, p.Y.Max = 0, top
		if i == len(outs)-1 {
			p.X.Label.Text = "virtual time (minutes); phases: " + phaseNames(sc)
		}
		if err := shadePhases(p, sc, top); err != nil {
			return err
		}
		line, err := plotter.NewLine(seriesXY(o.Series, end))
		if err != nil {
			return fmt.Errorf("sim: plot %s: %w", o.Policy, err)
		}
		line.StepStyle = plotter.PreStep
		line.Color = lineColors[i%len(lineColors)]
		line.Width = vg.Points(1)
		p.Add(line, plotter.NewGrid())
		plots[i] = []*plot.Plot{p}
	}

	c := vgsvg.New(width, panel*vg.Length(len(outs)))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(outs), Cols: 1, PadY: vg.Points(4), PadTop: vg.Points(4), PadBottom: vg.Points(4)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("sim: write plot: %w", err)
	}
	return nil
}

// shadePhases adds one shaded rectangle per phase to p.
func shadePhases(p *plot.Plot, sc Scenario, top float64) error {
	var start float64
	for i, ph := range sc.Phases {
		end := start + ph.Duration.Minutes()
		poly, err := plotter.NewPolygon(plotter.XYs{{X: start, Y: 0}, {X: end, Y: 0}, {X: end, Y: top}, {X: start, Y: top}})
		if err != nil {
			return fmt.Errorf("sim: plot phase %s: %w", ph.Name, err)
		}
		poly.Color = phaseColors[i%len(phaseColors)]
		poly.LineStyle.Width = 0
		p.Add(poly)
		start = end
	}
	return nil
}

// seriesXY turns a step series into points in minutes, closed at end.
func seriesXY(s []Point, end float64) plotter.XYs {
	xy := make(plotter.XYs, 0, len(s)+1)
	for _, p := range s {
		xy = append(xy, plotter.XY{X: p.T.Minutes(), Y: float64(p.Size)})
	}
	if len(s) > 0 {
		xy = append(xy, plotter.XY{X: end, Y: float64(s[len(s)-1].Size)})
	}
	return xy
}

func phaseNames(sc Scenario) string {
	s := ""
	for i, ph := range sc.Phases {
		if i > 0 {
			s += ", "
		}
		s += ph.Name
	}
	return s
}

// minuteTicks labels the time axis every 10 minutes.
func minuteTicks(end float64) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for m := 0.0; m <= end; m += 5 {
		t := plot.Tick{Value: m}
		if int(m)%10 == 0 {
			t.Label = strconv.Itoa(int(m))
		}
		ticks = append(ticks, t)
	}
	return ticks
}
