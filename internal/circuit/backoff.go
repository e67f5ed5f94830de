package circuit

import (
	"math"
	"time"
)

// OpenDurationFor returns how long the openCount-th consecutive open lasts: OpenDuration multiplied
// by BackoffMultiplier for every earlier failed half-open, capped at MaxOpenDuration, then moved by
// up to ±Jitter. The jitter is drawn deterministically from (id, openCount, version) so the decision
// stays a pure function; different circuits and different opens get different jitter.
func (p Policy) OpenDurationFor(id string, openCount int, version int64) time.Duration {
	if openCount < 1 {
		openCount = 1
	}
	d := float64(p.OpenDuration) * math.Pow(p.BackoffMultiplier, float64(openCount-1))
	if d > float64(p.MaxOpenDuration) {
		d = float64(p.MaxOpenDuration)
	}
	f := jitterFraction(id, openCount, version) // in [-1, 1]
	// Validate bounds MaxOpenDuration far below an overflow; this clamp keeps an unvalidated policy
	// from turning a huge duration negative all the same.
	return time.Duration(min(d*(1+Jitter*f), float64(MaxOpenLimit)*(1+Jitter))).Round(time.Millisecond)
}

// jitterFraction hashes its inputs (FNV-1a) into a number in [-1, 1] without allocating.
func jitterFraction(id string, openCount int, version int64) float64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime
	}
	for _, v := range [2]uint64{uint64(openCount), uint64(version)} {
		for i := 0; i < 8; i++ {
			h ^= v & 0xff
			h *= prime
			v >>= 8
		}
	}
	// Finalise (splitmix64) so close inputs spread over the whole range.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11)/float64(1<<53)*2 - 1
}
