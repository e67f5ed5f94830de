package controlstate_test

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

	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var seq atomic.Int64

func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	name := fmt.Sprintf("controlstate-test-%d", seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	return db, name
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func stepController(t *testing.T) adaptive.Controller {
	cfg := adaptive.DefaultConfig()
	cfg.Policy = adaptive.PolicyStep
	cfg.MaxBatch = 1000
	cfg.MaxConcurrency = 1000
	c, err := adaptive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// healthy is one clean call: the step policy adds 1 for it.
var healthy = adaptive.Batch{Batches: 1, Calls: 1, OKLatency: 10 * time.Millisecond, MaxLatency: 10 * time.Millisecond}

func TestFirstUpdateAndGet(t *testing.T) {
	db, table := newTable(t)
	s := controlstate.New(db, table, controlstate.Options{Timeout: 20 * time.Second})
	ctx := ctxT(t)
	snap, err := s.Get(ctx, "m-1")
	if err != nil || snap.Version != 0 || snap.State != (adaptive.State{}) {
		t.Fatalf("Get of a new mapping = %+v, %v; want zero", snap, err)
	}
	ctrl := stepController(t)
	now := time.UnixMilli(1_700_000_000_000)
	ch, err := s.Update(ctx, "m-1", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return ctrl.Next(prev, healthy, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 1 || ch.Attempts != 1 || ch.Prev != (adaptive.State{}) || ch.Next.Concurrency != 2 || ch.Decision.Concurrency != 2 {
		t.Fatalf("change = %+v", ch)
	}
	snap, err = s.Get(ctx, "m-1")
	if err != nil || snap.Version != 1 || snap.State != ch.Next {
		t.Fatalf("Get = %+v, %v; want version 1 and %+v", snap, err, ch.Next)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ventilator#m-1"}, "sk": &types.AttributeValueMemberS{Value: "controller"},
	}})
	if err != nil || out.Item["state"] == nil || out.Item["updatedAt"] == nil {
		t.Fatalf("raw item = %v, %v; want pk ventilator#m-1, sk controller with state and updatedAt", out.Item, err)
	}
	if _, ok := out.Item["expiresAt"]; ok {
		t.Error("the controller item must not expire")
	}
}

// TestConcurrentVentilatorsLoseNoUpdate runs two ventilators (each with its own client) that each
// fold many healthy batches into one mapping's state at the same time. The step policy adds exactly
// one per batch, so any lost update shows in the final concurrency.
func TestConcurrentVentilatorsLoseNoUpdate(t *testing.T) {
	_, table := newTable(t)
	const perVentilator = 25
	ctrl := stepController(t)
	ctx := ctxT(t)
	var retried atomic.Int64
	var wg sync.WaitGroup
	for v := range 2 {
		db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
		s := controlstate.New(db, table, controlstate.Options{Timeout: 20 * time.Second, MaxAttempts: 1000})
		wg.Go(func() {
			for i := range perVentilator {
				ch, err := s.Update(ctx, "shared", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
					next, d := ctrl.Next(prev, healthy, time.Now())
					next.Pending.Batches = prev.Pending.Batches + 1 // an exact count of applied batches
					return next, d
				})
				if err != nil {
					t.Errorf("ventilator %d batch %d: %v", v, i, err)
					return
				}
				retried.Add(int64(ch.Attempts - 1))
			}
		})
	}
	wg.Wait()
	snap, err := controlstate.New(dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig()), table, controlstate.Options{Timeout: 20 * time.Second}).Get(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes lost a race and were re-applied", retried.Load())
	if snap.Version != 2*perVentilator || snap.State.Concurrency != 1+2*perVentilator || snap.State.Pending.Batches != 2*perVentilator {
		t.Fatalf("after %d batches: version %d, concurrency %d, %d batches counted; want %d, %d, %d",
			2*perVentilator, snap.Version, snap.State.Concurrency, snap.State.Pending.Batches, 2*perVentilator, 1+2*perVentilator, 2*perVentilator)
	}
}

func TestUpdateFromAStaleSnapshot(t *testing.T) {
	db, table := newTable(t)
	s := controlstate.New(db, table, controlstate.Options{Timeout: 20 * time.Second})
	ctx := ctxT(t)
	ctrl := stepController(t)
	next := func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return ctrl.Next(prev, healthy, time.Now())
	}
	stale, err := s.Get(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "m", next); err != nil { // someone else writes batch size 2
		t.Fatal(err)
	}
	ch, err := s.UpdateFrom(ctx, "m", stale, next)
	if err != nil || ch.Attempts != 2 || ch.Prev.Concurrency != 2 || ch.Next.Concurrency != 3 || ch.Version != 2 {
		t.Fatalf("UpdateFrom a stale snapshot = %+v, %v; want a second attempt from batch size 2", ch, err)
	}
	fresh, err := s.Get(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := s.UpdateFrom(ctx, "m", fresh, next); err != nil || ch.Attempts != 1 || ch.Next.Concurrency != 4 {
		t.Fatalf("UpdateFrom a fresh snapshot = %+v, %v", ch, err)
	}
}

// racer is a DynamoDB whose PutItem loses the race a number of times, with or without the winner's
// item, before it passes calls through.
type racer struct {
	controlstate.DynamoDB
	losses   int
	withItem bool
	winner   map[string]types.AttributeValue
	puts     int
	gets     int
}

func (r *racer) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.gets++
	return r.DynamoDB.GetItem(ctx, in, opts...)
}

func (r *racer) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.puts++
	if r.puts <= r.losses {
		e := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
		if r.withItem {
			e.Item = r.winner
		}
		return nil, e
	}
	return r.DynamoDB.PutItem(ctx, in, opts...)
}

func winnerItem(id string, batchSize int, version int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":      &types.AttributeValueMemberS{Value: "ventilator#" + id},
		"sk":      &types.AttributeValueMemberS{Value: "controller"},
		"version": &types.AttributeValueMemberN{Value: fmt.Sprint(version)},
		"state": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"policy":    &types.AttributeValueMemberS{Value: "step"},
			"batchSize": &types.AttributeValueMemberN{Value: fmt.Sprint(batchSize)},
		}},
	}
}

// TestLostRaceReappliesOnTheWinner: a ventilator read no state, another wrote batch size 7 (version
// 4) in between; the first one's batch is applied again on top of 7 and written as version 5.
func TestLostRaceReappliesOnTheWinner(t *testing.T) {
	for _, withItem := range []bool{true, false} {
		t.Run(fmt.Sprint("item returned ", withItem), func(t *testing.T) {
			db, table := newTable(t)
			ctx := ctxT(t)
			winner := winnerItem("m", 7, 4)
			r := &racer{DynamoDB: db, losses: 1, withItem: withItem, winner: winner}
			s := controlstate.New(r, table, controlstate.Options{Timeout: 20 * time.Second})
			ctrl := stepController(t)
			var starts []int
			ch, err := s.Update(ctx, "m", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
				if len(starts) == 0 { // the other ventilator wins while this one decides
					if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: winner}); err != nil {
						t.Fatal(err)
					}
				}
				starts = append(starts, prev.BatchSize)
				return ctrl.Next(prev, healthy, time.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(starts) != "[0 7]" || ch.Version != 5 || ch.Next.Concurrency != 8 || ch.Attempts != 2 {
				t.Fatalf("apply started from %v and wrote %+v; want [0 7], version 5, concurrency 8", starts, ch)
			}
			if want := map[bool]int{true: 1, false: 2}[withItem]; r.gets != want {
				t.Errorf("%d reads, want %d", r.gets, want)
			}
		})
	}
}

// TestOwnWriteIsNotAppliedTwice: the SDK retried a put whose answer was lost; the retry's failed
// condition returns the item the first try wrote, which must be taken as success.
func TestOwnWriteIsNotAppliedTwice(t *testing.T) {
	db, table := newTable(t)
	s := controlstate.New(&replayer{DynamoDB: db}, table, controlstate.Options{Timeout: 20 * time.Second})
	ctrl := stepController(t)
	applied := 0
	ch, err := s.Update(ctxT(t), "m", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		applied++
		return ctrl.Next(prev, healthy, time.Now())
	})
	if err != nil || applied != 1 || ch.Version != 1 || ch.Next.Concurrency != 2 {
		t.Fatalf("update = %+v, %v after %d applies; want one apply, version 1", ch, err, applied)
	}
}

// replayer sends every PutItem twice and answers with the second answer, as an SDK retry after a
// lost answer does.
type replayer struct{ controlstate.DynamoDB }

func (r *replayer) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := r.DynamoDB.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return r.DynamoDB.PutItem(ctx, in, opts...)
}

func TestConflictsAreBounded(t *testing.T) {
	db, table := newTable(t)
	r := &racer{DynamoDB: db, losses: 1 << 30, withItem: true, winner: winnerItem("m", 3, 9)}
	s := controlstate.New(r, table, controlstate.Options{Timeout: 20 * time.Second, MaxAttempts: 4})
	_, err := s.Update(ctxT(t), "m", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return prev, adaptive.Decision{}
	})
	if !errors.Is(err, controlstate.ErrConflict) || r.puts != 4 {
		t.Fatalf("update = %v after %d puts; want ErrConflict after 4", err, r.puts)
	}
}

func TestUnreadableStateIsAnError(t *testing.T) {
	db, table := newTable(t)
	ctx := ctxT(t)
	item := winnerItem("bad", 1, 1)
	item["state"] = &types.AttributeValueMemberS{Value: "garbage"}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	s := controlstate.New(db, table, controlstate.Options{Timeout: 20 * time.Second})
	if _, err := s.Get(ctx, "bad"); err == nil || !strings.Contains(err.Error(), "controlstate: item of bad: state") {
		t.Fatalf("Get of a garbage state = %v", err)
	}
}

// TestOwnWriteIsKnownAfterAnotherWriter: the SDK's retry of a put whose answer was lost arrives after
// another ventilator wrote over it; its failed condition returns the other's item. The put must
// still be known as ours (the item keeps its latest writes' tokens), not re-applied on the other's
// state, which would count this batch twice.
func TestOwnWriteIsKnownAfterAnotherWriter(t *testing.T) {
	db, table := newTable(t)
	plain := controlstate.New(db, table, controlstate.Options{Timeout: 20 * time.Second})
	ctrl := stepController(t)
	step := func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
		return ctrl.Next(prev, healthy, time.Now())
	}
	other := func(ctx context.Context) error {
		_, err := plain.Update(ctx, "m", step)
		return err
	}
	s := controlstate.New(&overwriter{DynamoDB: db, between: other}, table, controlstate.Options{Timeout: 20 * time.Second})
	applied := 0
	for i := 1; i <= 3; i++ {
		ch, err := s.Update(ctxT(t), "m", func(prev adaptive.State) (adaptive.State, adaptive.Decision) {
			applied++
			return step(prev)
		})
		if err != nil || applied != i || ch.Version != int64(2*i-1) {
			t.Fatalf("update %d = %+v, %v after %d applies; want version %d, applied once", i, ch, err, applied, 2*i-1)
		}
	}
	got, err := plain.Get(ctxT(t), "m")
	if err != nil || got.Version != 6 {
		t.Fatalf("stored %+v, %v; want version 6: three updates of each ventilator, each applied once", got, err)
	}
}

// overwriter sends every PutItem, lets another writer write over it (between), then sends it again
// and answers with that second answer: an SDK retry that comes after the item moved on.
type overwriter struct {
	controlstate.DynamoDB
	between func(ctx context.Context) error
}

func (o *overwriter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := o.DynamoDB.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	if err := o.between(ctx); err != nil {
		return nil, err
	}
	return o.DynamoDB.PutItem(ctx, in, opts...)
}
