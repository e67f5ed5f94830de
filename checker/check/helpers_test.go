package check_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestMain(m *testing.M) { mototest.Main(m) }

var tableSeq atomic.Int64

// newTable creates a fresh table in the shared moto_server and returns a store on it.
func newTable(t *testing.T) (*store.Store, *dynamodb.Client) {
	t.Helper()
	srv := mototest.Shared(t)
	cfg := srv.AWSConfig()
	// A pool as wide as the checker's concurrency: the default keeps 2 idle connections per host,
	// so most concurrent calls would pay for a new connection to moto.
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	db := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("checker-test-%d", tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	// moto under -race on a busy two-core machine is slow; production's default is 500ms.
	return store.New(db, name, store.Options{Timeout: 10 * time.Second, MaxAttempts: 1000}), db
}

// recorder is a Publisher that keeps what it is given, or fails when told to.
type recorder struct {
	mu      sync.Mutex
	details []events.Detail
	fail    atomic.Bool
}

func (r *recorder) Publish(_ context.Context, ds ...events.Detail) error {
	if r.fail.Load() {
		return errors.New("bus unreachable (test)")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.details = append(r.details, ds...)
	return nil
}

func (r *recorder) all() []events.Detail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Detail(nil), r.details...)
}

// clock is the real clock moved forward by a settable offset, to pass retryAt without waiting.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// rig is a handler on a fresh table with a recording publisher, a movable clock and captured logs.
type rig struct {
	h     *check.Handler
	st    *store.Store
	db    *dynamodb.Client
	pub   *recorder
	clock *clock
	logs  *testkit.SyncBuffer
}

func newRig(t *testing.T, mod func(*check.Config)) *rig {
	t.Helper()
	st, db := newTable(t)
	r := &rig{st: st, db: db, pub: &recorder{}, clock: &clock{}, logs: &testkit.SyncBuffer{}}
	cfg := check.Config{
		Policy: circuit.DefaultPolicy(),
		Now:    r.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := check.New(st, r.pub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	return r
}

func (r *rig) run(t *testing.T, in string) check.Summary {
	t.Helper()
	sum, err := r.h.Handle(ctxT(t), json.RawMessage(in))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return sum
}

func (r *rig) get(t *testing.T, id string) circuit.Circuit {
	t.Helper()
	c, err := r.st.GetConsistent(ctxT(t), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// server is a loopback test server counting its hits.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// hanging answers only when the test ends (or the client gives up).
func hanging(t *testing.T) http.HandlerFunc {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}
}

func ok(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }

func byID(s check.Summary) map[string]check.TargetResult {
	m := make(map[string]check.TargetResult, len(s.Targets))
	for _, r := range s.Targets {
		m[r.ID] = r
	}
	return m
}

func target(id, url string, extra string) string {
	return fmt.Sprintf(`{"id":%q,"url":%q%s}`, id, url, extra)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
