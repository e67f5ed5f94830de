package sim

import (
	"testing"

	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// BenchmarkSimulation plays the default scenario for the aimd policy and reports how many virtual
// minutes it simulates per second of real time.
func BenchmarkSimulation(b *testing.B) {
	sc := DefaultScenario()
	c := adaptive.DefaultConfig()
	ctl, err := adaptive.New(c)
	if err != nil {
		b.Fatal(err)
	}
	ps := []Policy{{Name: "aimd", Controller: ctl, SlowCall: c.SlowCall}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(sc, ps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(sc.Duration().Minutes()*float64(b.N)/b.Elapsed().Seconds(), "sim-min/s")
}
