package breaker

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var tableSeq atomic.Int64

// newStore returns a store on a fresh table of the shared moto_server.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	name := fmt.Sprintf("breaker-test-%d-%d", os.Getpid(), tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return store.New(db, name, store.Options{Timeout: 10 * time.Second}) // moto under -race is slow
}

// env is one Lambda environment's breaker over a shared store.
func newEnv(t *testing.T, s Store, r cache.Reader, shard int, p circuit.Policy, mods ...func(*Options)) *Breaker {
	t.Helper()
	opt := Options{Policy: p, FailOpen: true, Shards: 4, Shard: shard, WindowTTL: 5 * time.Second, FlushInterval: time.Second}
	for _, m := range mods {
		m(&opt)
	}
	c, err := cache.New(r, cache.Options{TTL: 5 * time.Second, StaleTTL: time.Minute, Size: 64, Now: opt.Now, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(s, c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, s *store.Store, c circuit.Circuit) {
	t.Helper()
	if c.Version == 0 {
		c.Version = 1
	}
	if err := s.Put(ctxT(t), c); err != nil {
		t.Fatal(err)
	}
}

func stored(t *testing.T, s *store.Store, id string) circuit.Circuit {
	t.Helper()
	c, err := s.GetConsistent(ctxT(t), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}

// fakeClock is a wall clock the test moves; every environment of a test shares one.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// on runs the environment on clock c.
func on(c *fakeClock) func(*Options) { return func(o *Options) { o.Now = c.Now } }
