package dedup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var seq atomic.Int64

// clock is a settable clock shared by the tables of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTable(t *testing.T) (*dedup.Table, *dynamodb.Client, string, *clock) {
	t.Helper()
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	name := fmt.Sprintf("dedup-test-%d", seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dedup.CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	if err := dedup.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("CreateTable on an existing table: %v", err)
	}
	clk := &clock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	tab := dedup.New(db, name, dedup.Options{Lease: time.Minute, TTL: 48 * time.Hour, Timeout: 20 * time.Second, Now: clk.Now})
	return tab, db, name, clk
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func claim(t *testing.T, tab *dedup.Table, key, owner string, want dedup.Verdict, attempts int) dedup.Claim {
	t.Helper()
	c, err := tab.Claim(ctxT(t), key, owner)
	if err != nil {
		t.Fatalf("claim %s by %s: %v", key, owner, err)
	}
	if c.Verdict != want || c.Attempts != attempts {
		t.Fatalf("claim %s by %s = %v with %d attempts, want %v with %d", key, owner, c.Verdict, c.Attempts, want, attempts)
	}
	return c
}

func item(t *testing.T, db *dynamodb.Client, table, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(ctxT(t), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func attr(it map[string]types.AttributeValue, name string) string {
	switch v := it[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

func TestKey(t *testing.T) {
	at := time.Date(2026, 3, 4, 23, 59, 0, 0, time.FixedZone("x", -3*3600)) // already the 5th in UTC
	if got, want := dedup.Key("inv", at, "r-1"), "inv#2026-03-05#r-1"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	long := strings.Repeat("x", 2000)
	k := dedup.Key("inv", at, long)
	if len(k) > 200 || !strings.Contains(k, "#sha256:") {
		t.Errorf("a 2000-byte id gives key %q (%d bytes), want a hashed one", k[:min(len(k), 80)], len(k))
	}
	if dedup.Key("inv", at, long) != k || dedup.Key("inv", at, long+"y") == k {
		t.Error("hashed keys are not stable and distinct")
	}
}

func TestClaimLifecycle(t *testing.T) {
	tab, db, name, clk := newTable(t)
	ctx := ctxT(t)
	const key = "inv#2026-03-04#a"

	claim(t, tab, key, "v1", dedup.Claimed, 1)
	claim(t, tab, key, "v2", dedup.Busy, 1)
	it := item(t, db, name, key)
	if attr(it, "status") != "claimed" || attr(it, "owner") != "v1" {
		t.Fatalf("claimed item = %v", it)
	}
	if want := fmt.Sprint(clk.Now().Add(48 * time.Hour).Unix()); attr(it, "expiresAt") != want {
		t.Errorf("expiresAt = %s, want %s", attr(it, "expiresAt"), want)
	}

	// Releasing as someone else changes nothing.
	if lost, err := tab.Release(ctx, key, "v2", "nope"); err != nil || !lost {
		t.Fatalf("release by a non-owner = %v, %v; want lost", lost, err)
	}
	claim(t, tab, key, "v2", dedup.Busy, 1)

	if lost, err := tab.Release(ctx, key, "v1", "HTTP 503"); err != nil || lost {
		t.Fatalf("release = %v, %v", lost, err)
	}
	c := claim(t, tab, key, "v2", dedup.Claimed, 2)
	if c.LastError != "HTTP 503" {
		t.Errorf("LastError = %q, want the released reason", c.LastError)
	}
	if lost, err := tab.Complete(ctx, key, "v2"); err != nil || lost {
		t.Fatalf("complete = %v, %v", lost, err)
	}
	claim(t, tab, key, "v3", dedup.Done, 2)
	clk.Add(time.Hour)
	claim(t, tab, key, "v3", dedup.Done, 2)
	if it := item(t, db, name, key); attr(it, "owner") != "" || attr(it, "claimUntil") != "" {
		t.Errorf("a done item keeps its claim: %v", it)
	}
}

func TestExpiredClaimIsTakenOver(t *testing.T) {
	tab, db, name, clk := newTable(t)
	ctx := ctxT(t)
	const key = "inv#2026-03-04#b"
	claim(t, tab, key, "crashed", dedup.Claimed, 1)
	clk.Add(59 * time.Second)
	claim(t, tab, key, "v2", dedup.Busy, 1)
	clk.Add(2 * time.Second)
	claim(t, tab, key, "v2", dedup.Claimed, 2)

	// The first owner wakes up and finishes: its success still counts, once.
	lost, err := tab.Complete(ctx, key, "crashed")
	if err != nil || !lost {
		t.Fatalf("complete after a takeover = %v, %v; want lost", lost, err)
	}
	if st := attr(item(t, db, name, key), "status"); st != "done" {
		t.Fatalf("status = %q, want done", st)
	}
	// The new owner's failure does not undo it.
	if lost, err := tab.Release(ctx, key, "v2", "late failure"); err != nil || !lost {
		t.Fatalf("release after the record was done = %v, %v; want lost", lost, err)
	}
	claim(t, tab, key, "v3", dedup.Done, 2)
}

func TestDeadLettered(t *testing.T) {
	tab, db, name, _ := newTable(t)
	ctx := ctxT(t)
	const key = "inv#2026-03-04#c"
	claim(t, tab, key, "v1", dedup.Claimed, 1)
	if lost, err := tab.MarkDeadLettered(ctx, key, "v1", "failed 3 attempts"); err != nil || lost {
		t.Fatalf("mark = %v, %v", lost, err)
	}
	claim(t, tab, key, "v2", dedup.DeadLettered, 1)
	if r := attr(item(t, db, name, key), "reason"); r != "failed 3 attempts" {
		t.Errorf("reason = %q", r)
	}
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	tab, _, _, _ := newTable(t)
	ctx := ctxT(t)
	const key = "inv#2026-03-04#d"
	var wg sync.WaitGroup
	var won, busy atomic.Int32
	for i := range 6 {
		wg.Go(func() {
			c, err := tab.Claim(ctx, key, fmt.Sprint("v", i))
			switch {
			case err != nil:
				t.Error(err)
			case c.Verdict == dedup.Claimed:
				won.Add(1)
			case c.Verdict == dedup.Busy:
				busy.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || busy.Load() != 5 {
		t.Fatalf("%d claims won and %d were busy; want 1 and 5", won.Load(), busy.Load())
	}
}

func TestErrorsAreWrapped(t *testing.T) {
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	tab := dedup.New(db, "no-such-table", dedup.Options{Lease: time.Minute, TTL: 48 * time.Hour, Timeout: 20 * time.Second})
	_, err := tab.Claim(ctxT(t), "k", "o")
	var nf *types.ResourceNotFoundException
	if err == nil || !strings.Contains(err.Error(), `dedup: claim "k"`) || !errors.As(err, &nf) {
		t.Fatalf("claim on a missing table = %v, want a wrapped ResourceNotFoundException", err)
	}
}

// A refused call gives its attempt back: the next claim counts as the same attempt, and a refusal
// by someone who lost the claim changes nothing.
func TestRefusedGivesTheAttemptBack(t *testing.T) {
	tab, _, _, _ := newTable(t)
	ctx := ctxT(t)
	const key = "inv#2026-03-04#r"

	claim(t, tab, key, "v1", dedup.Claimed, 1)
	if lost, err := tab.Refused(ctx, key, "v2", "nope"); err != nil || !lost {
		t.Fatalf("refused by a non-owner = %v, %v; want lost", lost, err)
	}
	if lost, err := tab.Refused(ctx, key, "v1", "provider answered 429"); err != nil || lost {
		t.Fatalf("refused = %v, %v", lost, err)
	}
	c := claim(t, tab, key, "v2", dedup.Claimed, 1)
	if c.LastError != "provider answered 429" {
		t.Errorf("LastError = %q, want the refusal", c.LastError)
	}
	if lost, err := tab.Release(ctx, key, "v2", "HTTP 503"); err != nil || lost {
		t.Fatalf("release = %v, %v", lost, err)
	}
	claim(t, tab, key, "v3", dedup.Claimed, 2)
}

// Charge counts an attempt against a failed record after the fact, and only while it is failed:
// not one claimed again, done or dead-lettered since.
func TestChargeCountsAnAttemptOfAFailedRecord(t *testing.T) {
	tab, _, _, _ := newTable(t)
	ctx := ctxT(t)
	const key = "inv#2026-03-04#c"

	if n, ok, err := tab.Charge(ctx, key, "HTTP 500"); err != nil || ok || n != 0 {
		t.Fatalf("charge of an unknown record = %d, %v, %v; want nothing charged", n, ok, err)
	}
	claim(t, tab, key, "v1", dedup.Claimed, 1)
	if n, ok, err := tab.Charge(ctx, key, "HTTP 500"); err != nil || ok || n != 0 {
		t.Fatalf("charge of a claimed record = %d, %v, %v; want nothing charged", n, ok, err)
	}
	if _, err := tab.Refused(ctx, key, "v1", "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := tab.Charge(ctx, key, "HTTP 500: the record's own"); err != nil || !ok || n != 1 {
		t.Fatalf("charge = %d, %v, %v; want 1 attempt", n, ok, err)
	}
	c := claim(t, tab, key, "v2", dedup.Claimed, 2)
	if c.LastError != "HTTP 500: the record's own" {
		t.Errorf("LastError = %q, want the charged failure's", c.LastError)
	}
	if _, err := tab.Complete(ctx, key, "v2"); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := tab.Charge(ctx, key, "late"); err != nil || ok || n != 0 {
		t.Fatalf("charge of a done record = %d, %v, %v; want nothing charged", n, ok, err)
	}
}

// replaying sends every UpdateItem twice and answers with the second answer, as the SDK does when
// a conditional write succeeded but its answer was lost and the request is retried.
type replaying struct{ *dynamodb.Client }

func (r replaying) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if _, err := r.Client.UpdateItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return r.Client.UpdateItem(ctx, in, opts...)
}

// TestRetriedClaimIsOurs: a claim retried after it succeeded fails its condition on the claim it
// made. It is the caller's claim, not another's: Claimed, with the one attempt it counted, and
// the record can be completed by its owner.
func TestRetriedClaimIsOurs(t *testing.T) {
	_, db, name, clk := newTable(t)
	tab := dedup.New(replaying{db}, name, dedup.Options{Lease: time.Minute, TTL: 48 * time.Hour, Timeout: 20 * time.Second, Now: clk.Now})
	const key = "inv#2026-03-04#retried"
	claim(t, tab, key, "v1#0", dedup.Claimed, 1)
	plain := dedup.New(db, name, dedup.Options{Lease: time.Minute, TTL: 48 * time.Hour, Timeout: 20 * time.Second, Now: clk.Now})
	claim(t, plain, key, "v2#0", dedup.Busy, 1) // someone else's claim is still refused
	if lost, err := plain.Complete(ctxT(t), key, "v1#0"); err != nil || lost {
		t.Fatalf("complete by the owner = lost %v, %v; want the claim still its own", lost, err)
	}
	claim(t, plain, key, "v3#0", dedup.Done, 1)
}
