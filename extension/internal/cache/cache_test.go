package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// fakeReader serves circuits from a map, counts reads, and can fail or block.
type fakeReader struct {
	mu      sync.Mutex
	items   map[string]circuit.Circuit
	fail    error
	reads   atomic.Int64
	started chan struct{} // closed when a blocked read has started (if block is set)
	block   chan struct{} // reads wait for it when set
}

func newReader(cs ...circuit.Circuit) *fakeReader {
	r := &fakeReader{items: map[string]circuit.Circuit{}}
	for _, c := range cs {
		r.items[c.ID] = c
	}
	return r
}

func (r *fakeReader) Get(ctx context.Context, id string) (circuit.Circuit, error) {
	r.reads.Add(1)
	r.mu.Lock()
	block, started := r.block, r.started
	r.mu.Unlock()
	if block != nil {
		if started != nil {
			close(started)
			r.mu.Lock()
			r.started = nil
			r.mu.Unlock()
		}
		<-block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return circuit.Circuit{}, r.fail
	}
	c, ok := r.items[id]
	if !ok {
		return circuit.Circuit{}, fmt.Errorf("store: circuit %q: %w", id, store.ErrNotFound)
	}
	return c, nil
}

func (r *fakeReader) set(c circuit.Circuit) { r.mu.Lock(); r.items[c.ID] = c; r.mu.Unlock() }
func (r *fakeReader) setFail(err error)     { r.mu.Lock(); r.fail = err; r.mu.Unlock() }

// clock is a clock the test moves (its readings carry a monotonic reading, as time.Now's do).
type clock struct {
	mu   sync.Mutex
	base time.Time
	off  time.Duration
}

func newClock() *clock { return &clock{base: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(c.off)
}

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.off += d; c.mu.Unlock() }

var errDown = errors.New("dial tcp 127.0.0.1:8000: connection refused")

func inventory(v int64) circuit.Circuit {
	return circuit.Circuit{ID: "inventory", State: circuit.Closed, Version: v, Since: time.Unix(1700000000, 0)}
}

func newCache(t *testing.T, r Reader, clk *clock, opt Options) *Cache {
	t.Helper()
	if opt.TTL == 0 {
		opt.TTL = 5 * time.Second
	}
	if opt.Size == 0 {
		opt.Size = 16
	}
	if opt.StaleTTL == 0 {
		opt.StaleTTL = 10 * time.Minute
	}
	opt.Now = clk.Now
	c, err := New(r, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, c *Cache, id string) Result {
	t.Helper()
	res, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return res
}

func TestHitThenReadAgainAfterTTL(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c := newCache(t, r, clk, Options{})
	if res := get(t, c, "inventory"); res.Hit || !res.Found || res.Circuit.Version != 1 || res.Stale {
		t.Fatalf("first Get = %+v, want a miss that found version 1", res)
	}
	clk.advance(4 * time.Second) // inside TTL − 10 %
	if res := get(t, c, "inventory"); !res.Hit {
		t.Fatalf("Get within the TTL was not a hit: %+v", res)
	}
	r.set(inventory(2))
	clk.advance(2 * time.Second) // 6s: past TTL + 10 %
	if res := get(t, c, "inventory"); res.Hit || res.Circuit.Version != 2 {
		t.Fatalf("Get after the TTL = %+v, want a new read with version 2", res)
	}
	if got := r.reads.Load(); got != 2 {
		t.Errorf("reads = %d, want 2", got)
	}
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 2 || st.Reads != 2 || st.Entries != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// Freshness is judged by wall clock: the cache keeps no monotonic reading in its times, so every
// comparison with them is by wall clock (Go compares by wall clock when either side lacks one). A
// sandbox whose monotonic clock stood still through a freeze still sees the copy as old.
func TestFreshnessIsJudgedByWallClock(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c := newCache(t, r, clk, Options{TTL: time.Second})
	res := get(t, c, "inventory")
	hit := get(t, c, "inventory")
	for name, tm := range map[string]time.Time{"ReadAt": res.ReadAt, "FreshUntil": res.FreshUntil, "At": res.At, "hit's At": hit.At} {
		if strings.Contains(tm.String(), " m=") {
			t.Errorf("%s %v carries a monotonic reading", name, tm)
		}
	}
	clk.advance(3 * time.Minute)
	if res := get(t, c, "inventory"); res.Hit {
		t.Fatal("served a copy three minutes old (by wall clock) as fresh")
	}
}

func TestTTLJitterStaysWithinTenPercent(t *testing.T) {
	for _, rnd := range []float64{0, 0.5, 0.999999} {
		clk := newClock()
		c := newCache(t, newReader(inventory(1)), clk, Options{TTL: 10 * time.Second, Rand: func() float64 { return rnd }})
		res := get(t, c, "inventory")
		ttl := res.FreshUntil.Sub(res.ReadAt)
		want := time.Duration(float64(10*time.Second) * (1 + Jitter*(2*rnd-1)))
		if ttl != want || ttl < 9*time.Second || ttl > 11*time.Second {
			t.Errorf("rand %v: TTL %s, want %s within 9s..11s", rnd, ttl, want)
		}
	}
}

func TestConcurrentMissesShareOneRead(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	r.block, r.started = make(chan struct{}), make(chan struct{})
	started := r.started
	c := newCache(t, r, clk, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			res, err := c.Get(context.Background(), "inventory")
			if err == nil && res.Circuit.Version != 1 {
				err = fmt.Errorf("version %d", res.Circuit.Version)
			}
			errs <- err
		})
	}
	<-started
	time.Sleep(50 * time.Millisecond) // let the others join the read in flight
	close(r.block)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := r.reads.Load(); got != 1 {
		t.Errorf("reads = %d for 50 concurrent misses, want 1", got)
	}
}

func TestUnknownCircuitsAreCachedToo(t *testing.T) {
	r, clk := newReader(), newClock()
	c := newCache(t, r, clk, Options{})
	for i := range 3 {
		res := get(t, c, "nobody")
		if res.Found || res.Hit != (i > 0) {
			t.Fatalf("Get %d = %+v, want not found (a hit after the first)", i, res)
		}
	}
	if got := r.reads.Load(); got != 1 {
		t.Errorf("reads = %d, want 1", got)
	}
	r.set(circuit.Circuit{ID: "nobody", State: circuit.Open, Version: 1})
	clk.advance(6 * time.Second)
	if res := get(t, c, "nobody"); !res.Found || res.Circuit.State != circuit.Open {
		t.Errorf("after the TTL: %+v, want the circuit created meanwhile", res)
	}
}

func TestStoreDownServesStaleThenFailsAfterStaleTTL(t *testing.T) {
	r, clk := newReader(inventory(3)), newClock()
	c := newCache(t, r, clk, Options{TTL: 5 * time.Second, StaleTTL: time.Minute})
	get(t, c, "inventory")
	r.setFail(errDown)

	clk.advance(10 * time.Second)
	res := get(t, c, "inventory")
	if !res.Stale || !res.Found || res.Circuit.Version != 3 || res.Hit {
		t.Fatalf("with the store down: %+v, want the last good copy marked stale", res)
	}
	reads := r.reads.Load()
	// Within the retry interval the stale copy is answered without another read.
	if res := get(t, c, "inventory"); !res.Stale {
		t.Fatalf("second Get: %+v", res)
	}
	if r.reads.Load() != reads {
		t.Errorf("read again within the retry interval")
	}
	clk.advance(2 * time.Second)
	get(t, c, "inventory")
	if r.reads.Load() != reads+1 {
		t.Errorf("reads = %d, want one more after the retry interval", r.reads.Load())
	}

	clk.advance(time.Minute) // the copy is now older than the stale TTL
	_, err := c.Get(context.Background(), "inventory")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errDown) {
		t.Fatalf("past the stale TTL: err = %v, want ErrUnavailable wrapping the store's error", err)
	}

	r.setFail(nil)
	r.set(inventory(4))
	clk.advance(2 * time.Second)
	if res := get(t, c, "inventory"); res.Stale || res.Circuit.Version != 4 {
		t.Fatalf("after the store came back: %+v, want a fresh version 4", res)
	}
	st := c.Stats()
	if st.Stale != 3 || st.Unavailable != 1 || st.ReadErrors < 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestStoreDownWithNoCopyIsUnavailableAndRetriedLater(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	r.setFail(errDown)
	c := newCache(t, r, clk, Options{})
	for range 3 {
		if _, err := c.Get(context.Background(), "inventory"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	}
	if got := r.reads.Load(); got != 1 {
		t.Errorf("reads = %d, want 1 within the retry interval", got)
	}
	if _, ok := c.Peek("inventory"); ok {
		t.Error("Peek found a circuit that was never read")
	}
	r.setFail(nil)
	clk.advance(2 * time.Second)
	if res := get(t, c, "inventory"); !res.Found || res.Stale {
		t.Errorf("after recovery: %+v", res)
	}
}

func TestZeroStaleTTLNeverServesStale(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c, err := New(r, Options{TTL: time.Second, Size: 4, StaleTTL: 0, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	get(t, c, "inventory")
	r.setFail(errDown)
	clk.advance(2 * time.Second)
	if _, err := c.Get(context.Background(), "inventory"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestPutKeepsTheHighestVersion(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c := newCache(t, r, clk, Options{})
	get(t, c, "inventory")
	c.Put(inventory(5))
	if res := get(t, c, "inventory"); !res.Hit || res.Circuit.Version != 5 {
		t.Fatalf("after Put(5): %+v", res)
	}
	c.Put(inventory(4))
	if e, _ := c.Peek("inventory"); e.Circuit.Version != 5 {
		t.Errorf("Put(4) replaced version 5")
	}
	// An eventually consistent read that returns an older version than this environment wrote.
	clk.advance(6 * time.Second)
	if res := get(t, c, "inventory"); res.Circuit.Version != 5 || res.Hit {
		t.Errorf("older read: %+v, want version 5 kept (and a read made)", res)
	}
}

func TestCallerGivingUpDoesNotCancelTheRead(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	r.block = make(chan struct{})
	c := newCache(t, r, clk, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, "inventory"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	close(r.block)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := c.Peek("inventory"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the read never completed into the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPrefetch(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c := newCache(t, r, clk, Options{})
	if err := c.Prefetch(context.Background(), []string{"inventory", "nobody"}); err != nil {
		t.Fatal(err)
	}
	if res := get(t, c, "inventory"); !res.Hit {
		t.Error("first Get after prefetch was not a hit")
	}
	if res := get(t, c, "nobody"); !res.Hit || res.Found {
		t.Error("unknown prefetched circuit was not a negative hit")
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 0 || st.Reads != 2 {
		t.Errorf("stats = %+v", st)
	}
	r.setFail(errDown)
	if err := c.Prefetch(context.Background(), []string{"other"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("prefetch with the store down: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, opt := range []Options{{TTL: 0, Size: 1}, {TTL: time.Second, Size: 0}, {TTL: time.Second, Size: 1, StaleTTL: -1}} {
		if _, err := New(newReader(), opt); err == nil {
			t.Errorf("New(%+v) succeeded", opt)
		}
	}
}

// An entry too old to be served even stale is dropped, by the same wall clock as freshness: it is
// gone from Peek and IDs, and a Get reads again rather than answering from it.
func TestEntriesPastServingAreDroppedByWallClock(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c := newCache(t, r, clk, Options{TTL: time.Second, StaleTTL: time.Minute})
	get(t, c, "inventory")
	clk.advance(time.Minute) // stale but still servable
	if _, ok := c.Peek("inventory"); !ok {
		t.Fatal("Peek lost an entry that may still be served stale")
	}
	clk.advance(time.Minute) // past StaleTTL + TTL + the retry interval
	if e, ok := c.Peek("inventory"); ok {
		t.Fatalf("Peek = %+v, want the entry dropped", e)
	}
	if ids := c.IDs(); len(ids) != 0 {
		t.Fatalf("IDs = %q, want none", ids)
	}
	r.setFail(errDown)
	if _, err := c.Get(context.Background(), "inventory"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get of a dropped entry with the store down = %v, want ErrUnavailable", err)
	}
}

// slowGet starts a Get whose read blocks, waits until the read has started, and returns the
// release of the read and the Get's answer.
func slowGet(t *testing.T, r *fakeReader, c *Cache, id string) (release func(), answer <-chan Result) {
	t.Helper()
	block, started := make(chan struct{}), make(chan struct{})
	r.mu.Lock()
	r.block, r.started = block, started
	r.mu.Unlock()
	out := make(chan Result, 1)
	go func() {
		res, err := c.Get(context.Background(), id)
		if err != nil {
			t.Errorf("Get(%q): %v", id, err)
		}
		out <- res
	}()
	<-started
	return func() {
		r.mu.Lock()
		r.block = nil
		r.mu.Unlock()
		close(block)
	}, out
}

// A read that saw no circuit, slow enough that this environment created (and tripped) the circuit
// meanwhile, must not replace the circuit it wrote with "not found": the environment answers from
// what it wrote at once, not after the negative entry's TTL.
func TestSlowReadOfNoCircuitKeepsTheCircuitWrittenMeanwhile(t *testing.T) {
	r, clk := newReader(), newClock()
	c := newCache(t, r, clk, Options{})
	release, answer := slowGet(t, r, c, "inventory")
	tripped := circuit.Circuit{ID: "inventory", State: circuit.Open, Version: 1, Since: time.Unix(1700000000, 0)}
	c.Put(tripped) // the write that created it OPEN, while the read (which saw none) is on its way
	release()
	if res := <-answer; !res.Found || res.Circuit.State != circuit.Open {
		t.Errorf("the slow read answered %+v, want the OPEN circuit written meanwhile", res.Entry)
	}
	if res := get(t, c, "inventory"); !res.Hit || !res.Found || res.Circuit.State != circuit.Open {
		t.Errorf("after the slow read: %+v, want the OPEN circuit from the cache", res)
	}
}

// A read of an older version, slow enough that this environment wrote a newer one meanwhile, keeps
// the newer one.
func TestSlowReadOfAnOlderVersionKeepsTheNewerOne(t *testing.T) {
	r, clk := newReader(inventory(1)), newClock()
	c := newCache(t, r, clk, Options{})
	get(t, c, "inventory")
	clk.advance(6 * time.Second) // past the TTL: the next Get reads
	release, answer := slowGet(t, r, c, "inventory")
	tripped := inventory(2)
	tripped.State = circuit.Open
	c.Put(tripped)
	release()
	if res := <-answer; res.Circuit.Version != 2 || res.Circuit.State != circuit.Open {
		t.Errorf("the slow read answered %+v, want version 2", res.Entry)
	}
	if e, _ := c.Peek("inventory"); e.Circuit.Version != 2 {
		t.Errorf("cached version %d after the slow read, want 2", e.Circuit.Version)
	}
}

// A circuit deleted from DynamoDB after this environment wrote it is seen as gone by the first read
// that starts after the write: what was written is kept only against reads already on their way.
func TestACircuitDeletedAfterItWasWrittenIsSeenGone(t *testing.T) {
	r, clk := newReader(), newClock()
	c := newCache(t, r, clk, Options{})
	c.Put(inventory(3))
	clk.advance(6 * time.Second)
	if res := get(t, c, "inventory"); res.Found {
		t.Errorf("after the delete: %+v, want not found", res)
	}
}
