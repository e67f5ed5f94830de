package circuit

import (
	"fmt"
	"math"
)

// confidenceZ is the standard normal quantile of the one-sided 99 % bound clearlyAtRate uses: a
// provider whose true rate is at the threshold shows a lower bound above it about once in 100 looks,
// and one at half the threshold (25 % against 50 %) practically never: 9 or more failures in 10
// calls at 25 % come about 3 times in 100,000.
const confidenceZ = 2.33

// RecentZ is the standard normal quantile of the one-sided bound the recent-span rule uses (99.87 %).
// The recent span is looked at after every call, so its bound is stricter than clearlyAtRate's: at
// the default 50 % threshold a span of nothing but failures needs 10 calls (LB = n/(n+z²) = 0.53),
// which a provider failing 25 % of calls shows once in a million looks (0.25¹⁰), and one failing
// 75 % about 6 times in 100.
const RecentZ = 3.0

// LongRecentZ is the quantile of the recent-span rule's bound for a span of at least three times
// minimum calls (99 %, as clearlyAtRate's). A long span needs less margin for the same certainty at
// rates far below the threshold: at 25 % against 50 %, 22 failures in 30 calls (the least that
// trips at it) come about 4 times in 100 million looks, rarer than the 10 in 10 a short span needs
// at RecentZ (1 in a million). What it spends is margin just under the threshold, where the window
// rule's point estimate trips anyway; it buys a trip on the 30-odd calls one environment makes in a
// window at 75 % slow calls (22 of 30, which a provider failing 75 % shows two times in three, where
// RecentZ's 24 of 30 it shows one time in three).
const LongRecentZ = confidenceZ

// recentZ is the quantile the recent-span rule judges a span of n calls at.
func (p Policy) recentZ(n int64) float64 {
	if n >= 3*p.MinCalls {
		return LongRecentZ
	}
	return RecentZ
}

// clearlyAtRate reports whether w's failure or slow-call rate is above its threshold beyond
// reasonable doubt: the lower Wilson score bound of the rate is at or above the threshold. Ten calls
// at 25 % show 50 % now and then (8 % of the time); a lower bound of 50 % takes 9 failures in 10
// calls, or 58 in 90.
func (p Policy) clearlyAtRate(w Counts) bool {
	return w.Calls > 0 && (wilsonLower(w.Failures, w.Calls) >= p.FailureRate || wilsonLower(w.Slow, w.Calls) >= p.SlowCallRate)
}

// RecentReason says why the recent span's calls r trip a CLOSED circuit, or "" if they do not: at
// least MinCalls calls whose lower Wilson bound at RecentZ of the failure (or slow-call) rate is at
// or above its threshold. r must hold every call of the span (a single process's, or counts known to
// be complete): a bound over calls some of which were never seen proves nothing.
func (p Policy) RecentReason(r Counts) string {
	if p.RecentSpan <= 0 || r.Calls < p.MinCalls || r.Calls <= 0 {
		return ""
	}
	z := p.recentZ(r.Calls)
	if lb := wilsonLowerZ(r.Failures, r.Calls, z); lb >= p.FailureRate {
		return fmt.Sprintf("failure rate at least %s ≥ %s (%d of the last %d calls failed)", pct(lb), pct(p.FailureRate), r.Failures, r.Calls)
	}
	if lb := wilsonLowerZ(r.Slow, r.Calls, z); lb >= p.SlowCallRate {
		return fmt.Sprintf("slow call rate at least %s ≥ %s (%d of the last %d calls slower than %s)", pct(lb), pct(p.SlowCallRate), r.Slow, r.Calls, p.SlowCall)
	}
	return ""
}

// wilsonLower is the lower Wilson score bound of the rate k/n at confidenceZ.
func wilsonLower(k, n int64) float64 { return wilsonLowerZ(k, n, confidenceZ) }

// wilsonLowerZ is the lower Wilson score bound of the rate k/n at the normal quantile z.
func wilsonLowerZ(k, n int64, z float64) float64 {
	k = min(k, n)
	nf, z2 := float64(n), z*z
	phat := float64(k) / nf
	centre := phat + z2/(2*nf)
	margin := z * math.Sqrt(phat*(1-phat)/nf+z2/(4*nf*nf))
	return (centre - margin) / (1 + z2/nf)
}

// RecentCounts returns the counts of the recent span to judge, from calls: the outcomes of the last
// Recent() (every one of them), oldest first. It looks at each span that ends now and starts at one
// of the calls (the last MinCalls calls, the last MinCalls+1, ..., all of them) and returns the first
// whose calls trip (RecentReason), or all of them if none does. A span that began before the incident
// would otherwise dilute a total outage with the healthy calls made just before it: ten failures in
// a row trip at once, however many successes came a few seconds earlier. Looking at every start
// costs some certainty, which RecentZ's strict bound pays for (docs/design.md has the error bound).
func (p Policy) RecentCounts(calls []Outcome) Counts {
	var c Counts
	for i := len(calls) - 1; i >= 0; i-- {
		c.Record(calls[i], p)
		if c.Calls >= p.MinCalls && p.RecentReason(c) != "" {
			return c
		}
	}
	return c
}
