package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// maxBatchGetKeys is DynamoDB's limit of keys per BatchGetItem.
const maxBatchGetKeys = 100

func windowKey(id string, shard int, bucket time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: str(id + "#" + strconv.Itoa(shard)),
		attrSK: str("window#" + strconv.FormatInt(bucket.Unix(), 10)),
	}
}

// AddCounts adds c to one window bucket of one shard with an atomic ADD (no read-modify-write), and
// sets the bucket's expiresAt to bucket end + window so DynamoDB's TTL removes it afterwards.
func (s *Store) AddCounts(ctx context.Context, id string, shard int, bucket time.Time, c circuit.Counts, p circuit.Policy) error {
	if err := circuit.ValidateID(id); err != nil {
		return err
	}
	if c.IsZero() {
		return nil
	}
	expires := bucket.Add(p.BucketWidth() + p.Window)
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              windowKey(id, shard, bucket),
		UpdateExpression: strPtr("ADD calls :c, failures :f, slow :s SET expiresAt = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":c": num(c.Calls), ":f": num(c.Failures), ":s": num(c.Slow), ":e": num(expires.Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("store: add counts to circuit %q shard %d bucket %d: %w", id, shard, bucket.Unix(), err)
	}
	return nil
}

// ReadWindow fetches every bucket of the window ending at now over all shards (known keys) with
// BatchGetItem, retrying unprocessed keys, and returns the counts per bucket summed over shards.
func (s *Store) ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time) ([]circuit.BucketCounts, error) {
	if err := circuit.ValidateID(id); err != nil {
		return nil, err
	}
	if shards < 1 || shards*circuit.Buckets > maxBatchGetKeys {
		return nil, fmt.Errorf("store: read window of %q: %d shards × %d buckets must be 1..%d keys", id, shards, circuit.Buckets, maxBatchGetKeys)
	}
	starts := p.WindowBuckets(now)
	keys := make([]map[string]types.AttributeValue, 0, shards*len(starts))
	for shard := 0; shard < shards; shard++ {
		for _, b := range starts {
			keys = append(keys, windowKey(id, shard, b))
		}
	}
	byStart := make(map[int64]*circuit.BucketCounts, len(starts))
	out := make([]circuit.BucketCounts, len(starts))
	for i, b := range starts {
		out[i].Start = b
		byStart[b.Unix()] = &out[i]
	}
	err := s.batchGet(ctx, types.KeysAndAttributes{Keys: keys, ProjectionExpression: strPtr("sk, calls, failures, slow")},
		fmt.Sprintf("read window of %q", id), func(item map[string]types.AttributeValue) error {
			d := &decoder{item: item}
			sk := d.str(attrSK, true)
			start, err := strconv.ParseInt(strings.TrimPrefix(sk, "window#"), 10, 64)
			bc := byStart[start]
			if err != nil || bc == nil {
				return fmt.Errorf("store: window item of %q has unexpected sk %q", id, sk)
			}
			bc.Calls += d.int("calls", false)
			bc.Failures += d.int("failures", false)
			bc.Slow += d.int("slow", false)
			if len(d.errs) > 0 {
				return fmt.Errorf("store: window item of %q sk %q is not valid: %w", id, sk, errors.Join(d.errs...))
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func strPtr(s string) *string { return &s }
