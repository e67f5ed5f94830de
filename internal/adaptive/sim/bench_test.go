package sim

import (
	"testing"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// BenchmarkSimulation plays the default scenario of the 200 ms shared provider for the default
// policy and reports how many virtual minutes it simulates per second of real time.
func BenchmarkSimulation(b *testing.B) {
	sc := DefaultScenario(base, Shared)
	ps, err := NewPolicies(SimConfig(base), adaptive.DefaultPolicy)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(sc, ps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(sc.Duration().Minutes()*float64(b.N)/b.Elapsed().Seconds(), "sim-min/s")
}
