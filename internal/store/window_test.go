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

// TestWindowItemExpires: a bucket item expires one window after its end, on the table's TTL
// attribute, so DynamoDB removes it (the contract's window tests cover the counting).
func TestWindowItemExpires(t *testing.T) {
	st, db := newStore(t, store.Options{})
	ctx := ctxT(t)
	p := circuit.DefaultPolicy() // 60s window, 10s buckets
	bucket := p.BucketStart(t0.Add(35 * time.Second))
	if err := st.AddCounts(ctx, store.CountsWrite{ID: "w", Bucket: bucket, Counts: circuit.Counts{Calls: 3, Failures: 1}, Writer: "env", Seq: 1}, p); err != nil {
		t.Fatal(err)
	}
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
