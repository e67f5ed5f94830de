package circuit

import (
	"testing"
	"time"
)

// t0 is a bucket boundary for every window used in these tests.
var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func TestCountsRecord(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name string
		o    Outcome
		want Counts
	}{
		{"fast success", Outcome{OK: true, Latency: 100 * time.Millisecond}, Counts{Calls: 1}},
		{"fast failure", Outcome{OK: false, Latency: 5 * time.Millisecond}, Counts{Calls: 1, Failures: 1}},
		{"slow success is slow, not failed", Outcome{OK: true, Latency: 1001 * time.Millisecond}, Counts{Calls: 1, Slow: 1}},
		{"exactly the slow-call duration is not slow", Outcome{OK: true, Latency: time.Second}, Counts{Calls: 1}},
		{"slow failure is both", Outcome{OK: false, Latency: 3 * time.Second}, Counts{Calls: 1, Failures: 1, Slow: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counts
			c.Record(tt.o, p)
			if c != tt.want {
				t.Errorf("Record = %+v, want %+v", c, tt.want)
			}
		})
	}
	a, b := Counts{1, 2, 3}, Counts{10, 20, 30}
	if got := a.Add(b); got != (Counts{11, 22, 33}) {
		t.Errorf("Add = %+v", got)
	}
	if a != (Counts{1, 2, 3}) {
		t.Errorf("Add mutated its receiver: %+v", a)
	}
	if !(Counts{}).IsZero() || (Counts{Slow: 1}).IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestBucketStart(t *testing.T) {
	p := DefaultPolicy() // 10s buckets
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"on a boundary", t0, t0},
		{"just after a boundary", t0.Add(time.Nanosecond), t0},
		{"just before the next", t0.Add(10*time.Second - time.Nanosecond), t0},
		{"the next boundary", t0.Add(10 * time.Second), t0.Add(10 * time.Second)},
		{"other zone, same instant, UTC result", t0.Add(15 * time.Second).In(paris), t0.Add(10 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.BucketStart(tt.in)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("BucketStart(%v) = %v, want %v (UTC)", tt.in, got, tt.want)
			}
		})
	}
}

func TestWindowBucketsAreSixOldestFirstEndingWithTheCurrent(t *testing.T) {
	p := DefaultPolicy()
	got := p.WindowBuckets(t0.Add(65 * time.Second))
	want := [Buckets]time.Time{
		t0.Add(10 * time.Second), t0.Add(20 * time.Second), t0.Add(30 * time.Second),
		t0.Add(40 * time.Second), t0.Add(50 * time.Second), t0.Add(60 * time.Second),
	}
	if got != want {
		t.Errorf("WindowBuckets = %v\nwant %v", got, want)
	}
}

func TestSumWindow(t *testing.T) {
	p := DefaultPolicy()
	now := t0.Add(65 * time.Second) // window buckets: t0+10s .. t0+60s
	b := func(offset time.Duration, calls, failures, slow int64) BucketCounts {
		return BucketCounts{Start: t0.Add(offset), Counts: Counts{calls, failures, slow}}
	}
	buckets := []BucketCounts{
		b(0, 1000, 1000, 1000),      // one bucket too old
		b(10*time.Second, 1, 0, 0),  // oldest in window
		b(30*time.Second, 10, 1, 0), // middle
		b(40*time.Second, 10, 1, 0), // middle, a second shard of the same bucket
		b(40*time.Second, 100, 10, 5),
		b(60*time.Second, 4, 4, 4),     // current
		b(70*time.Second, 500, 500, 0), // future: not yet
	}
	tests := []struct {
		name  string
		since time.Time
		want  Counts
	}{
		{"never changed: whole window", time.Time{}, Counts{125, 16, 9}},
		{"since before the window: whole window", t0.Add(-time.Hour), Counts{125, 16, 9}},
		{"since on a bucket start keeps that bucket", t0.Add(30 * time.Second), Counts{124, 16, 9}},
		// The bucket holding since is counted: dropping it ignored every failure in the bucket in
		// which a circuit was created (or closed) and delayed every rate trip by up to a bucket.
		{"since inside a bucket keeps that bucket", t0.Add(35 * time.Second), Counts{124, 16, 9}},
		{"since inside a later bucket drops the earlier ones", t0.Add(45 * time.Second), Counts{114, 15, 9}},
		{"since in the current bucket: the current bucket", t0.Add(61 * time.Second), Counts{4, 4, 4}},
		{"since in the future: nothing", t0.Add(75 * time.Second), Counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.SumWindow(buckets, tt.since, now); got != tt.want {
				t.Errorf("SumWindow = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := p.SumWindow(nil, time.Time{}, now); !got.IsZero() {
		t.Errorf("SumWindow(nil) = %+v", got)
	}
}
