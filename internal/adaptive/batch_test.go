package adaptive

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func TestSummarize(t *testing.T) {
	results := []Result{
		{OK: true, Latency: 100 * ms},
		{OK: true, Latency: 1500 * ms},  // slow
		{OK: false, Latency: 3000 * ms}, // slow and failed: one error, not slow
		{OK: false, Latency: 10 * ms},
		{OK: true, Latency: 1000 * ms}, // at the threshold: not slow
	}
	got := Summarize(results, time.Second)
	want := Batch{Batches: 1, Calls: 5, Errors: 2, Slow: 1, OKLatency: 2600 * ms, MinLatency: 100 * ms,
		MaxLatency: 1500 * ms, FailedKeys: 2}
	if got != want {
		t.Fatalf("Summarize() = %+v, want %+v", got, want)
	}
	if got.Bad() != 3 || got.OK() != 3 {
		t.Errorf("Bad() = %d, OK() = %d; want 3, 3", got.Bad(), got.OK())
	}
	if got.BadRatio() != 0.6 || got.ErrorRatio() != 0.4 {
		t.Errorf("BadRatio() = %v, ErrorRatio() = %v; want 0.6, 0.4", got.BadRatio(), got.ErrorRatio())
	}
	if m := got.MeanLatency(); m != 2600*ms/3 {
		t.Errorf("MeanLatency() = %v", m)
	}
}

func TestSummarizeEmptyAndAdd(t *testing.T) {
	empty := Summarize(nil, time.Second)
	if empty.Calls != 0 || empty.BadRatio() != 0 || empty.MeanLatency() != 0 {
		t.Errorf("Summarize(nil) = %+v", empty)
	}
	a := Batch{Batches: 1, Calls: 2, Errors: 1, OKLatency: 5 * ms, MaxLatency: 5 * ms}
	b := Batch{Batches: 2, Calls: 3, Slow: 1, OKLatency: 9 * ms, MaxLatency: 7 * ms}
	want := Batch{Batches: 3, Calls: 5, Errors: 1, Slow: 1, OKLatency: 14 * ms, MaxLatency: 7 * ms}
	if got := a.Add(b); got != want {
		t.Errorf("Add() = %+v, want %+v", got, want)
	}
}

func TestPercentile(t *testing.T) {
	lat := func() []time.Duration {
		return []time.Duration{9 * ms, 1 * ms, 8 * ms, 2 * ms, 7 * ms, 3 * ms, 6 * ms, 4 * ms, 5 * ms, 10 * ms}
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0, 1 * ms}, {-5, 1 * ms}, {10, 1 * ms}, {11, 2 * ms}, {50, 5 * ms}, {51, 6 * ms},
		{90, 9 * ms}, {99, 10 * ms}, {100, 10 * ms}, {150, 10 * ms},
	}
	for _, tt := range tests {
		if got := Percentile(lat(), tt.p); got != tt.want {
			t.Errorf("Percentile(p%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
	if got := Percentile([]time.Duration{7 * ms}, 99); got != 7*ms {
		t.Errorf("Percentile(one) = %v, want 7ms", got)
	}
}

func TestPercentileDoesNotAllocate(t *testing.T) {
	lat := make([]time.Duration, 1000)
	for i := range lat {
		lat[i] = time.Duration((i*7919)%1000) * ms
	}
	allocs := testing.AllocsPerRun(10, func() {
		_ = Percentile(lat, 50)
		_ = Percentile(lat, 99)
	})
	if allocs != 0 {
		t.Errorf("Percentile allocates %v times per run, want 0", allocs)
	}
	if p99 := Percentile(lat, 99); p99 != 989*ms {
		t.Errorf("p99 = %v, want 989ms", p99)
	}
}

func BenchmarkPercentile(b *testing.B) {
	src := make([]time.Duration, 100)
	for i := range src {
		src[i] = time.Duration((i*7919)%100) * ms
	}
	lat := make([]time.Duration, len(src))
	b.ReportAllocs()
	for b.Loop() {
		copy(lat, src)
		_ = Percentile(lat, 50)
		_ = Percentile(lat, 99)
	}
}
