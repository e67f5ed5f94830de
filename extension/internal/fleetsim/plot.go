package fleetsim

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// systemColors are the systems' line colours, in the order of Systems.
var systemColors = []color.Color{
	color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}, // reference: grey
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // breakerbox: red
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // powertools: blue
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // cb-lambda: green
}

// WritePlot draws the trip probability per window against the true rate, one panel per shape and
// kind of incident (columns: shapes; rows: failures, slow calls), one line per system, as SVG.
func WritePlot(w io.Writer, res *Results) error {
	plots, err := panels(res)
	if err != nil {
		return err
	}
	c := vgsvg.New(panel*vg.Length(len(plots[0])), panel*vg.Length(len(plots)))
	drawTiles(c, plots)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("fleetsim: write plot: %w", err)
	}
	return nil
}

// panels builds one plot per kind (rows) and shape (columns).
func panels(res *Results) ([][]*plot.Plot, error) {
	var shapes []string
	var kinds []Kind
	for _, r := range res.Rows {
		if !contains(shapes, r.Shape) {
			shapes = append(shapes, r.Shape)
		}
		if !contains(kinds, r.Kind) {
			kinds = append(kinds, r.Kind)
		}
	}
	if len(shapes) == 0 {
		return nil, fmt.Errorf("fleetsim: plot: no results")
	}
	// The legend goes where the lines leave room: the sparse slow-call panel, in which no rule with
	// a rate trips (one call every 2 minutes never meets minimum calls), else the first.
	legendAt := [2]int{0, 0}
	for k, kind := range kinds {
		for s, shape := range shapes {
			if kind == Slow && shape == "sparse" {
				legendAt = [2]int{k, s}
			}
		}
	}
	plots := make([][]*plot.Plot, len(kinds))
	for k, kind := range kinds {
		plots[k] = make([]*plot.Plot, len(shapes))
		for s, shape := range shapes {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s, %s", shape, kindName(kind))
			p.X.Label.Text = "true rate (%)"
			p.X.Min, p.X.Max = 0, 100
			p.Y.Min, p.Y.Max = 0, 1.02
			if s == 0 {
				p.Y.Label.Text = "trip probability per window"
			}
			for i, name := range Systems {
				var xy plotter.XYs
				for _, r := range res.Rows {
					// The 0 % row is played once per shape, under the first kind; it is every kind's.
					if r.Shape == shape && (r.Kind == kind || r.Rate == 0) {
						xy = append(xy, plotter.XY{X: r.Rate * 100, Y: r.Sys[i].TripRate})
					}
				}
				line, points, err := plotter.NewLinePoints(xy)
				if err != nil {
					return nil, fmt.Errorf("fleetsim: plot %s %s: %w", shape, name, err)
				}
				line.Color, points.Color = systemColors[i], systemColors[i]
				line.Width = vg.Points(1.2)
				if i == iRef {
					line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
				}
				points.Radius = vg.Points(2)
				p.Add(line, points)
				if k == legendAt[0] && s == legendAt[1] {
					p.Legend.Add(name, line, points)
				}
			}
			p.Legend.Top, p.Legend.Left = true, true
			p.Add(plotter.NewGrid())
			plots[k][s] = p
		}
	}
	return plots, nil
}

// panel is the side of one panel of the chart.
const panel = 3.2 * vg.Inch

// drawTiles draws the panels on c in rows and columns.
func drawTiles(c vg.CanvasSizer, plots [][]*plot.Plot) {
	tiles := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Points(6), PadY: vg.Points(6),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
	canvases := plot.Align(plots, tiles, draw.New(c))
	for k := range plots {
		for s := range plots[k] {
			plots[k][s].Draw(canvases[k][s])
		}
	}
}

func kindName(k Kind) string {
	if k == Slow {
		return "slow calls"
	}
	return "failures"
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
