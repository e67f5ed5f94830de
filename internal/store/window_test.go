package store_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestWindowBucketsShardsAndTTL(t *testing.T) {
	st, db := newStore(t, store.Options{})
	ctx := ctxT(t)
	p := circuit.DefaultPolicy() // 60s window, 10s buckets
	now := t0.Add(35 * time.Second)
	add := func(shard int, at time.Time, c circuit.Counts) {
		t.Helper()
		if err := st.AddCounts(ctx, "w", shard, p.BucketStart(at), c, p); err != nil {
			t.Fatal(err)
		}
	}
	add(0, now, circuit.Counts{Calls: 3, Failures: 1})
	add(3, now, circuit.Counts{Calls: 2, Failures: 2, Slow: 1})
	add(1, now.Add(-50*time.Second), circuit.Counts{Calls: 5})                  // oldest bucket still in the window
	add(2, now.Add(-61*time.Second), circuit.Counts{Calls: 100, Failures: 100}) // out of the window
	buckets, err := st.ReadWindow(ctx, "w", 4, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) != circuit.Buckets {
		t.Fatalf("%d buckets, want %d", len(buckets), circuit.Buckets)
	}
	if got, want := p.SumWindow(buckets, time.Time{}, now), (circuit.Counts{Calls: 10, Failures: 3, Slow: 1}); got != want {
		t.Fatalf("window = %+v, want %+v", got, want)
	}
	if got, want := p.SumWindow(buckets, p.BucketStart(now), now), (circuit.Counts{Calls: 5, Failures: 3, Slow: 1}); got != want {
		t.Fatalf("window since the current bucket = %+v, want %+v", got, want)
	}
	// The bucket item expires one window after its end, so DynamoDB TTL removes it.
	bucket := p.BucketStart(now)
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: strp(st.Table()), Key: map[string]types.AttributeValue{
		"pk": s("w#0"), "sk": s("window#" + strconv.FormatInt(bucket.Unix(), 10)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	exp := out.Item["expiresAt"].(*types.AttributeValueMemberN).Value
	if want := strconv.FormatInt(bucket.Add(70*time.Second).Unix(), 10); exp != want {
		t.Fatalf("expiresAt = %s, want %s (bucket end + window, epoch seconds)", exp, want)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: strp(st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.AttributeName == nil || *d.AttributeName != "expiresAt" || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Fatalf("TTL = %+v, want enabled on expiresAt", d)
	}
}

func TestReadWindowRejectsTooManyKeys(t *testing.T) {
	st, _ := newStore(t, store.Options{})
	if _, err := st.ReadWindow(ctxT(t), "w", 17, circuit.DefaultPolicy(), t0); err == nil {
		t.Fatal("17 shards × 6 buckets > 100 keys: want an error")
	}
}

// TestReadWindowRejectsBadCounters: a counter written with the wrong type is an error naming the
// item, never a panic and never a silent zero.
func TestReadWindowRejectsBadCounters(t *testing.T) {
	st, db := newStore(t, store.Options{})
	ctx := ctxT(t)
	p := circuit.DefaultPolicy()
	bucket := p.BucketStart(t0)
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: strp(st.Table()), Item: map[string]types.AttributeValue{
		"pk": s("bad#0"), "sk": s("window#" + strconv.FormatInt(bucket.Unix(), 10)), "calls": s("3"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.ReadWindow(ctx, "bad", 1, p, t0)
	if err == nil || !strings.Contains(err.Error(), `"calls": want a number (N), got S`) || !strings.Contains(err.Error(), `window item of "bad"`) {
		t.Fatalf("err = %v, want an error naming the item and the attribute", err)
	}
}
