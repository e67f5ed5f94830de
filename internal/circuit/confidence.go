package circuit

import "math"

// confidenceZ is the standard normal quantile of the one-sided 99 % bound clearlyAtRate uses: a
// provider whose true rate is at the threshold shows a lower bound above it about once in 100 looks,
// and one at half the threshold (25 % against 50 %) practically never: 9 or more failures in 10
// calls at 25 % come about 3 times in 100,000.
const confidenceZ = 2.33

// clearlyAtRate reports whether w's failure or slow-call rate is above its threshold beyond
// reasonable doubt: the lower Wilson score bound of the rate is at or above the threshold. Ten calls
// at 25 % show 50 % now and then (8 % of the time); a lower bound of 50 % takes 9 failures in 10
// calls, or 58 in 90.
func (p Policy) clearlyAtRate(w Counts) bool {
	return w.Calls > 0 && (wilsonLower(w.Failures, w.Calls) >= p.FailureRate || wilsonLower(w.Slow, w.Calls) >= p.SlowCallRate)
}

// wilsonLower is the lower Wilson score bound of the rate k/n at confidenceZ.
func wilsonLower(k, n int64) float64 {
	nf, z2 := float64(n), confidenceZ*confidenceZ
	phat := float64(k) / nf
	centre := phat + z2/(2*nf)
	margin := confidenceZ * math.Sqrt(phat*(1-phat)/nf+z2/(4*nf*nf))
	return (centre - margin) / (1 + z2/nf)
}
