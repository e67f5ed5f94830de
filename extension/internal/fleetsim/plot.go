package fleetsim

import "io"

// WritePlot draws trip probability against the true failure rate, one panel per shape.
func WritePlot(w io.Writer, res *Results) error { return nil }
