package adaptive

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the nearest-rank p-th percentile (p in percent: 50 for the median, 99 for p99)
// of latencies, or 0 for an empty slice. p at or below 0 gives the minimum, at or above 100 the
// maximum.
//
// It sorts latencies in place and allocates nothing; asking a second percentile of the same slice
// only checks that it is sorted.
func Percentile(latencies []time.Duration, p float64) time.Duration {
	n := len(latencies)
	if n == 0 {
		return 0
	}
	if !slices.IsSorted(latencies) {
		slices.Sort(latencies)
	}
	if math.IsNaN(p) || p <= 0 {
		return latencies[0]
	}
	if p >= 100 {
		return latencies[n-1]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return latencies[max(rank, 1)-1]
}
