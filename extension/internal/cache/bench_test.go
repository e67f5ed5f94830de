package cache

import (
	"context"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

type benchReader struct{}

func (benchReader) Get(_ context.Context, id string) (circuit.Circuit, error) {
	return circuit.Circuit{ID: id, State: circuit.Closed, Version: 3, Since: time.Now(), Reason: "2 successful probes"}, nil
}

// BenchmarkGetHit is a Get answered from a fresh copy, the cache's share of every lookup.
func BenchmarkGetHit(b *testing.B) {
	c, err := New(benchReader{}, Options{TTL: time.Hour, StaleTTL: time.Hour, Size: 16})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Get(ctx, "inventory"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx, "inventory"); err != nil {
			b.Fatal(err)
		}
	}
}
