package breaker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// slowReader reads through to the store, then, when armed, holds the answer until released: a read
// that saw the circuit as it was, slow to come back.
type slowReader struct {
	*store.Store
	mu      sync.Mutex
	started chan struct{}
	release chan struct{}
}

func (r *slowReader) arm() (started, release chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started, r.release = make(chan struct{}), make(chan struct{})
	return r.started, r.release
}

func (r *slowReader) Get(ctx context.Context, id string) (circuit.Circuit, error) {
	c, err := r.Store.Get(ctx, id)
	r.mu.Lock()
	started, release := r.started, r.release
	r.started, r.release = nil, nil
	r.mu.Unlock()
	if started != nil {
		close(started)
		<-release
	}
	return c, err
}

// beforeUpdate runs hook (once) before the first circuit write goes to the store.
type beforeUpdate struct {
	Store
	once sync.Once
	hook func()
}

func (b *beforeUpdate) Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error) {
	b.once.Do(b.hook)
	return b.Store.Update(ctx, id, decide)
}

// An environment that trips a circuit answers OPEN from then on, even when one of its reads, which
// saw no circuit, comes back after the trip was written (a concurrent Acquire on Lambda Managed
// Instances): the read must not replace the tripped circuit with "not found" until its TTL ends.
func TestTheEnvironmentThatTripsAnswersOpenDespiteASlowerRead(t *testing.T) {
	s := newStore(t)
	r := &slowReader{Store: s}
	clk := newClock()
	p := circuit.DefaultPolicy()
	p.ConsecutiveFailures = 1 // the first failure creates the circuit OPEN
	var acquired chan Decision
	var release chan struct{}
	var b *Breaker
	st := &beforeUpdate{Store: s}
	b = newEnv(t, st, r, 0, p, on(clk))
	st.hook = func() {
		// The cached "not found" has expired: the Acquire reads, sees no circuit, and is slow.
		clk.Add(6 * time.Second)
		var started chan struct{}
		started, release = r.arm()
		acquired = make(chan Decision, 1)
		go func() { acquired <- b.Acquire(ctxT(t), "pay") }()
		<-started
	}
	if d := b.Acquire(ctxT(t), "pay"); !d.Allowed || d.State != Unknown {
		t.Fatalf("before any failure: %+v, want allowed, unknown (fail open)", d)
	}
	b.Report(ctxT(t), "pay", []Outcome{{OK: false, Err: "status 503"}})
	if err := b.WriteIfDue(ctxT(t), "pay"); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, s, "pay"); c.State != circuit.Open {
		t.Fatalf("after the failure: %+v, want the circuit OPEN in DynamoDB", c)
	}
	if release == nil {
		t.Fatal("the trip was written without a circuit write")
	}
	close(release)
	<-acquired // answered from the read it made: whichever, it must not undo the trip
	if d := b.Acquire(ctxT(t), "pay"); d.Allowed || d.State != string(circuit.Open) {
		t.Errorf("after the trip and the slow read: %+v, want denied as OPEN", d)
	}
}
