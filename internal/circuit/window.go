package circuit

import "time"

// Counts are the outcomes seen over some span: a bucket, a buffer or a whole window.
type Counts struct {
	Calls    int64
	Failures int64
	Slow     int64
}

// Add returns c + o.
func (c Counts) Add(o Counts) Counts {
	return Counts{Calls: c.Calls + o.Calls, Failures: c.Failures + o.Failures, Slow: c.Slow + o.Slow}
}

// IsZero reports whether nothing was counted.
func (c Counts) IsZero() bool { return c == Counts{} }

// Record counts one outcome under policy p.
func (c *Counts) Record(o Outcome, p Policy) {
	c.Calls++
	if !o.OK {
		c.Failures++
	}
	if o.Latency > p.SlowCall {
		c.Slow++
	}
}

// BucketStart returns the start of the window bucket that holds t.
func (p Policy) BucketStart(t time.Time) time.Time {
	w := p.BucketWidth()
	return time.Unix(0, t.UnixNano()-t.UnixNano()%int64(w)).UTC()
}

// WindowBuckets returns the starts of the Buckets buckets that make up the window ending at now,
// oldest first. The last one is the current, partly filled bucket.
func (p Policy) WindowBuckets(now time.Time) [Buckets]time.Time {
	var out [Buckets]time.Time
	cur := p.BucketStart(now)
	w := p.BucketWidth()
	for i := 0; i < Buckets; i++ {
		out[i] = cur.Add(-time.Duration(Buckets-1-i) * w)
	}
	return out
}

// BucketCounts are the counts of one window bucket (summed over shards or not).
type BucketCounts struct {
	Start time.Time
	Counts
	// Settled counts the bucket's calls made by environments that knew the circuit's bad-window mark
	// when they started them (Aware, see Policy.FleetWindow): every one of them is written, and which
	// calls count never depends on their outcome, so they are a sample of the fleet's calls, all of
	// them once the mark has settled (Circuit.BadSince + settle). A part of Counts.
	Settled Counts
}

// SumWindow adds up the buckets that lie in the window ending at now and end after since (the
// circuit's last state change). The bucket that holds since is counted: its calls may have come
// before since, but dropping it would ignore every failure in it and delay every rate trip by up to
// a bucket. A circuit that just closed is protected from the failures that opened it otherwise: an
// OPEN or HALF_OPEN circuit counts nothing (outcomes reported then are not written to the window).
func (p Policy) SumWindow(buckets []BucketCounts, since, now time.Time) Counts {
	oldest := p.BucketStart(now).Add(-time.Duration(Buckets-1) * p.BucketWidth())
	first := oldest
	if s := p.BucketStart(since); !since.IsZero() && s.After(oldest) {
		first = s
	}
	var sum Counts
	for _, b := range buckets {
		if b.Start.Before(first) || b.Start.After(now) {
			continue
		}
		sum = sum.Add(b.Counts)
	}
	return sum.capped()
}

// capped returns c with no more failures and slow calls than calls. A slow call is counted as it
// passes the threshold and its failure when it ends (extension/internal/breaker, running.go), so a
// span can hold the failure of a call whose count has left it.
func (c Counts) capped() Counts {
	return Counts{Calls: c.Calls, Failures: min(c.Failures, c.Calls), Slow: min(c.Slow, c.Calls)}
}
