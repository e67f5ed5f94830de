package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/ctxwait"
)

// GetMany reads many circuits with strongly consistent BatchGetItem calls of up to 100 keys each,
// retrying unprocessed keys. Circuits that were never written are absent from the map. Items that
// cannot be read are named in the error while the readable ones are still returned, so a caller can
// fall back to Get for whatever is missing.
func (s *Store) GetMany(ctx context.Context, ids []string) (map[string]circuit.Circuit, error) {
	out := make(map[string]circuit.Circuit, len(ids))
	seen := make(map[string]bool, len(ids))
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if err := circuit.ValidateID(id); err != nil {
			return nil, err
		}
		if !seen[id] { // BatchGetItem refuses duplicate keys
			seen[id] = true
			keys = append(keys, circuitKey(id))
		}
	}
	var bad []error
	for start := 0; start < len(keys); start += maxBatchGetKeys {
		chunk := keys[start:min(start+maxBatchGetKeys, len(keys))]
		err := s.batchGet(ctx, types.KeysAndAttributes{Keys: chunk, ConsistentRead: aws.Bool(true)},
			fmt.Sprintf("read %d circuits", len(chunk)), func(item map[string]types.AttributeValue) error {
				c, err := decodeCircuit(item)
				if err != nil {
					bad = append(bad, err)
					return nil
				}
				out[c.ID] = c
				return nil
			})
		if err != nil {
			return out, err
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("store: %d unreadable circuit items: %w", len(bad), errors.Join(bad...))
	}
	return out, nil
}

// batchGet runs BatchGetItem on one table until no key is left unprocessed, handing every returned
// item to each (an error from each stops it). what names the read in errors.
func (s *Store) batchGet(ctx context.Context, ka types.KeysAndAttributes, what string, each func(map[string]types.AttributeValue) error) error {
	req := map[string]types.KeysAndAttributes{s.table: ka}
	for attempt := 1; len(req) > 0; attempt++ {
		cctx, cancel := s.call(ctx)
		resp, err := s.db.BatchGetItem(cctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		cancel()
		if err != nil {
			return fmt.Errorf("store: %s from table %s: %w", what, s.table, err)
		}
		for _, item := range resp.Responses[s.table] {
			if err := each(item); err != nil {
				return err
			}
		}
		req = resp.UnprocessedKeys
		if len(req) > 0 {
			if attempt >= s.opt.MaxAttempts {
				return fmt.Errorf("store: %s from table %s: keys still unprocessed after %d attempts", what, s.table, attempt)
			}
			if err := ctxwait.Sleep(ctx, backoff(attempt)); err != nil {
				return fmt.Errorf("store: %s from table %s: %w", what, s.table, err)
			}
		}
	}
	return nil
}
