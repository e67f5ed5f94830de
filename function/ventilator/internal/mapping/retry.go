package mapping

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/breakerbox/breakerbox/internal/ctxwait"
)

// update calls UpdateEventSourceMapping, retrying ResourceInUseException and
// TooManyRequestsException with capped, jittered exponential backoff (a throttle's Retry-After is
// honoured up to MaxDelay). It returns the number of calls made.
func (m *Manager) update(ctx context.Context, in *lambda.UpdateEventSourceMappingInput) (*lambda.UpdateEventSourceMappingOutput, int, error) {
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
		out, err := m.api.UpdateEventSourceMapping(cctx, in)
		cancel()
		if err == nil {
			return out, attempt, nil
		}
		wait, retryable := m.backoff(err, attempt)
		if !retryable || attempt >= m.opt.MaxAttempts {
			return nil, attempt, fmt.Errorf("mapping: update %s (batch size %v, enabled %v) after %d attempt(s): %w",
				aws.ToString(in.UUID), ptr(in.BatchSize), ptr(in.Enabled), attempt, err)
		}
		if werr := ctxwait.Sleep(ctx, wait); werr != nil {
			return nil, attempt, fmt.Errorf("mapping: update %s: %w (last error: %w)", aws.ToString(in.UUID), werr, err)
		}
	}
}

// backoff says whether err is worth another try, and after how long.
func (m *Manager) backoff(err error, attempt int) (time.Duration, bool) {
	var inUse *types.ResourceInUseException
	var throttled *types.TooManyRequestsException
	switch {
	case errors.As(err, &inUse):
	case errors.As(err, &throttled):
		if s := aws.ToString(throttled.RetryAfterSeconds); s != "" {
			if d, perr := time.ParseDuration(s + "s"); perr == nil && d > 0 {
				return min(d, m.opt.MaxDelay), true
			}
		}
	default:
		return 0, false
	}
	ceiling := min(m.opt.BaseDelay<<min(attempt-1, 20), m.opt.MaxDelay)
	return ceiling/2 + rand.N(ceiling/2+1), true
}

func ptr[T any](p *T) any {
	if p == nil {
		return "unchanged"
	}
	return *p
}
