package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// PolicyFor applies a circuit's own policy map over base. An invalid map is an error naming the circuit.
func PolicyFor(base circuit.Policy, c circuit.Circuit) (circuit.Policy, error) {
	p, err := base.WithOverrides(c.Policy)
	if err != nil {
		return base, fmt.Errorf("circuit %q has an invalid policy map: %w", c.ID, err)
	}
	return p, nil
}

// Observe applies an observation to the circuit (creating it if needed) through Update.
func (s *Store) Observe(ctx context.Context, id string, obs circuit.Observation, base circuit.Policy, now time.Time) (circuit.Result, error) {
	return ObserveWith(ctx, s, id, obs, base, now)
}

// AcquireProbe asks for a call permit (see AcquireProbeWith).
func (s *Store) AcquireProbe(ctx context.Context, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error) {
	return AcquireProbeWith(ctx, s, id, permit, base, now)
}

// ReleaseProbe gives a permit back without a trial.
func (s *Store) ReleaseProbe(ctx context.Context, id, permit string, now time.Time) (circuit.Result, error) {
	return ReleaseProbeWith(ctx, s, id, permit, now)
}

// Force sets an operator override on the circuit, creating it if needed.
func (s *Store) Force(ctx context.Context, id string, o circuit.Override, reason string, now time.Time) (circuit.Result, error) {
	return ForceWith(ctx, s, id, o, reason, now)
}

// List returns every circuit, following Scan pagination. Items that cannot be read are reported in
// the error (naming each) while the readable ones are still returned.
func (s *Store) List(ctx context.Context) ([]circuit.Circuit, error) {
	in := &dynamodb.ScanInput{
		TableName:                 &s.table,
		FilterExpression:          strPtr("sk = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(skCircuit)},
	}
	if s.opt.ScanPageSize > 0 {
		in.Limit = &s.opt.ScanPageSize
	}
	var out []circuit.Circuit
	var bad []error
	p := dynamodb.NewScanPaginator(s.db, in)
	for p.HasMorePages() {
		cctx, cancel := s.call(ctx)
		page, err := p.NextPage(cctx)
		cancel()
		if err != nil {
			return out, fmt.Errorf("store: list circuits in %s: %w", s.table, err)
		}
		for _, item := range page.Items {
			c, err := decodeCircuit(item)
			if err != nil {
				bad = append(bad, err)
				continue
			}
			out = append(out, c)
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("store: %d unreadable circuit items: %w", len(bad), errors.Join(bad...))
	}
	return out, nil
}
