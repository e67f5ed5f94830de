package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// writerAttr is the attribute of a window item that holds the last sequence number it took from
// writer. Readers never project it.
func writerAttr(writer string) string { return "w" + writer }

// AddCounts adds w.Counts to one window bucket of one shard with an atomic ADD (no read-modify-write)
// on condition that the bucket has not taken w.Seq (or a later write) from w.Writer, so a retried
// write counts once (see CountsWrite). It sets the bucket's expiresAt to bucket end + window, so
// DynamoDB's TTL removes it afterwards.
func (s *Store) AddCounts(ctx context.Context, w CountsWrite, p circuit.Policy) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if w.Counts.IsZero() {
		return nil
	}
	expires := w.Bucket.Add(p.BucketWidth() + p.Window)
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      windowKey(w.ID, w.Shard, w.Bucket),
		UpdateExpression:         strPtr("ADD calls :c, failures :f, slow :s, sCalls :sc, sFailures :sf, sSlow :ss SET expiresAt = :e, #w = :q"),
		ConditionExpression:      strPtr("attribute_not_exists(#w) OR #w < :q"),
		ExpressionAttributeNames: map[string]string{"#w": writerAttr(w.Writer)},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":c": num(w.Counts.Calls), ":f": num(w.Counts.Failures), ":s": num(w.Counts.Slow), ":e": num(expires.Unix()),
			":sc": num(w.Settled.Calls), ":sf": num(w.Settled.Failures), ":ss": num(w.Settled.Slow),
			":q": &types.AttributeValueMemberN{Value: strconv.FormatUint(w.Seq, 10)},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // this write (or a later one of this writer) was taken already: counted once
	}
	if err != nil {
		return fmt.Errorf("store: add counts to circuit %q shard %d bucket %d: %w", w.ID, w.Shard, w.Bucket.Unix(), err)
	}
	return nil
}

// ReadWindow fetches every bucket of the window ending at now over all shards (known keys) with
// BatchGetItem, retrying unprocessed keys, and returns the counts per bucket summed over shards.
//
// with are counter writes of the caller's own, made at the same time as the read: each is counted
// exactly once whether or not the read saw it, known by the writer's sequence number its item holds
// (see CountsWrite). The caller uses the result only once every one of them has been written, so
// a read needs not wait for the writes: the two round trips overlap.
func (s *Store) ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time, with ...CountsWrite) ([]circuit.BucketCounts, error) {
	if err := circuit.ValidateID(id); err != nil {
		return nil, err
	}
	if shards < 1 || shards*circuit.Buckets > maxBatchGetKeys {
		return nil, fmt.Errorf("store: read window of %q: %d shards × %d buckets must be 1..%d keys", id, shards, circuit.Buckets, maxBatchGetKeys)
	}
	if err := ValidateWith(id, with); err != nil {
		return nil, err
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
	projection := "pk, sk, calls, failures, slow, sCalls, sFailures, sSlow"
	var names map[string]string // alias -> the writer attribute of each writer of with
	for _, w := range with {
		attr := writerAttr(w.Writer)
		if !slices.Contains(slices.Collect(maps.Values(names)), attr) {
			if names == nil {
				names = map[string]string{}
			}
			alias := "#w" + strconv.Itoa(len(names))
			names[alias] = attr
			projection += ", " + alias
		}
	}
	// seen holds, per shard and bucket read, the last sequence number each writer of with has put in
	// it (0: none, or the item does not exist).
	seen := map[withKey]uint64{}
	err := s.batchGet(ctx, types.KeysAndAttributes{Keys: keys, ProjectionExpression: &projection, ExpressionAttributeNames: names},
		fmt.Sprintf("read window of %q", id), func(item map[string]types.AttributeValue) error {
			d := &decoder{item: item}
			sk := d.str(attrSK, true)
			start, err := strconv.ParseInt(strings.TrimPrefix(sk, "window#"), 10, 64)
			bc := byStart[start]
			if err != nil || bc == nil {
				return fmt.Errorf("store: window item of %q has unexpected sk %q", id, sk)
			}
			pk := d.str(attrPK, true)
			shard, err := strconv.Atoi(strings.TrimPrefix(pk, id+"#"))
			if err != nil || !strings.HasPrefix(pk, id+"#") {
				return fmt.Errorf("store: window item of %q has unexpected pk %q", id, pk)
			}
			bc.Calls += d.int("calls", false)
			bc.Failures += d.int("failures", false)
			bc.Slow += d.int("slow", false)
			bc.Settled.Calls += d.int("sCalls", false)
			bc.Settled.Failures += d.int("sFailures", false)
			bc.Settled.Slow += d.int("sSlow", false)
			for _, attr := range names {
				if q := d.int(attr, false); q > 0 {
					seen[withKey{writer: strings.TrimPrefix(attr, "w"), shard: shard, start: start}] = uint64(q)
				}
			}
			if len(d.errs) > 0 {
				return fmt.Errorf("store: window item of %q sk %q is not valid: %w", id, sk, errors.Join(d.errs...))
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	AddUnseen(out, shards, with, func(w CountsWrite) uint64 {
		return seen[withKey{writer: w.Writer, shard: w.Shard, start: w.Bucket.Unix()}]
	})
	return out, nil
}

// withKey names one writer's sequence number in one window item.
type withKey struct {
	writer string
	shard  int
	start  int64
}

// ValidateWith checks the writes a window read of circuit id must count (Circuits.ReadWindow):
// each valid, and each of circuit id. Every implementation of Circuits checks them through it.
func ValidateWith(id string, with []CountsWrite) error {
	for _, w := range with {
		if err := w.Validate(); err != nil {
			return err
		}
		if w.ID != id {
			return fmt.Errorf("store: read window of %q with a write to circuit %q: the writes must be the read circuit's", id, w.ID)
		}
	}
	return nil
}

// AddUnseen adds to window (buckets summed over shards 0..shards-1) each write of with that the
// read did not see: the writer's last sequence number in the write's item, as read (seen), is below
// the write's. Writes outside the window or the shards read are left out, as the read leaves
// their items out. Every implementation of Circuits reads with through it.
func AddUnseen(window []circuit.BucketCounts, shards int, with []CountsWrite, seen func(CountsWrite) uint64) {
	for _, w := range with {
		if w.Shard >= shards || seen(w) >= w.Seq {
			continue
		}
		for i := range window {
			if window[i].Start.Equal(w.Bucket) {
				window[i].Counts = window[i].Counts.Add(w.Counts)
				window[i].Settled = window[i].Settled.Add(w.Settled)
			}
		}
	}
}

func strPtr(s string) *string { return &s }
