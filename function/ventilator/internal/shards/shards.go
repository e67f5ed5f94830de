// Package shards counts the ventilators a Kinesis event source mapping runs at once: the stream's
// open shards times the mapping's parallelization factor, so that each takes its share of the
// fleet's concurrency and together they never exceed it.
package shards

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
)

// Kinesis is the part of the Kinesis client the Counter uses.
type Kinesis interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, opts ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}

// Mapping reads the event source mapping's configuration (*mapping.Manager).
type Mapping interface {
	Get(ctx context.Context) (mapping.Config, error)
}

// Counter counts the pollers of one stream's mapping, remembering the answer for a TTL. It is safe
// for concurrent use.
type Counter struct {
	kinesis Kinesis
	mapping Mapping
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu   sync.Mutex
	last int
	at   time.Time
}

// New returns a Counter that asks again after ttl (default 1m), each call bounded by timeout
// (default 5s). now nil means time.Now.
func New(k Kinesis, m Mapping, ttl, timeout time.Duration, now func() time.Time) *Counter {
	if ttl <= 0 {
		ttl = time.Minute
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Counter{kinesis: k, mapping: m, ttl: ttl, timeout: timeout, now: now}
}

// Pollers returns open shards × parallelization factor for the stream. When it cannot ask, it returns
// the last answer (1 if none) and the error.
func (c *Counter) Pollers(ctx context.Context, streamARN string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last > 0 && c.now().Sub(c.at) < c.ttl {
		return c.last, nil
	}
	fallback := max(c.last, 1)
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.kinesis.DescribeStreamSummary(cctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(streamARN)})
	if err != nil {
		return fallback, fmt.Errorf("shards: describe %s: %w", streamARN, err)
	}
	open := int(aws.ToInt32(out.StreamDescriptionSummary.OpenShardCount))
	cfg, err := c.mapping.Get(ctx)
	if err != nil {
		return fallback, fmt.Errorf("shards: %w", err)
	}
	c.last, c.at = max(open, 1)*max(cfg.ParallelizationFactor, 1), c.now()
	return c.last, nil
}
