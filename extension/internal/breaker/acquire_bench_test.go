package breaker

import (
	"context"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store/memstore"
)

// BenchmarkAcquireReportClosed is a healthy call's cost inside the extension, acquire and report of
// a CLOSED circuit, with the call named and kept under way until its outcome (named) beside the
// same without a name (AcquireBatch: the reference). It makes no store call either way; the
// loopback HTTP round trip around it (`make bench`'s post-runtime-noop) is some 0.4 ms.
func BenchmarkAcquireReportClosed(b *testing.B) {
	ctx := context.Background()
	ms := memstore.New(memstore.Options{})
	now := time.Now()
	if err := ms.Put(ctx, circuit.Circuit{ID: "x", State: circuit.Closed, Version: 1, Since: now.Add(-time.Hour), UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	c, err := cache.New(ms, cache.Options{TTL: time.Hour, StaleTTL: time.Hour, Size: 8})
	if err != nil {
		b.Fatal(err)
	}
	br, err := New(ms, c, Options{Policy: circuit.DefaultPolicy(), FailOpen: true, Shards: 4, WindowTTL: time.Hour, FlushInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		acquire func(context.Context, string) Decision
	}{{"named", br.Acquire}, {"unnamed", br.AcquireBatch}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d := tc.acquire(ctx, "x")
				br.Report(ctx, "x", []Outcome{{OK: true, Latency: time.Millisecond, Call: d.Call}})
			}
			if n := br.Stats().CallsUnderWay; n != 0 {
				b.Fatalf("%d calls left under way", n)
			}
		})
	}
}
