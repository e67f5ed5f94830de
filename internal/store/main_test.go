package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var tableSeq atomic.Int64

// newStore returns a store on a fresh table in the shared moto_server, plus the raw client.
func newStore(t *testing.T, opt store.Options) (*store.Store, *dynamodb.Client) {
	t.Helper()
	srv := mototest.Shared(t)
	db := dynamodb.NewFromConfig(srv.AWSConfig())
	name := fmt.Sprintf("breakerbox-test-%d", tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second // moto under -race on two cores is slow; production default is 500ms
	}
	return store.New(db, name, opt), db
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
