package fleetsim

import (
	"context"
	"testing"
)

// BenchmarkSpreadRun plays one run of the spread shape (200 environments) for every system.
func BenchmarkSpreadRun(b *testing.B) {
	cfg := DefaultConfig()
	s, _ := ShapeByName(cfg.Shapes, "spread")
	for i := 0; b.Loop(); i++ {
		if _, err := runOne(context.Background(), cfg, Combo{Shape: s, Kind: Failures, Rate: 0.25}, 1, i); err != nil {
			b.Fatal(err)
		}
	}
}
