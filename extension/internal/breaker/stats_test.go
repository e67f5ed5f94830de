package breaker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// heldAdds holds the first AddCounts until release is closed, then fails it.
type heldAdds struct {
	*store.Store
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (h *heldAdds) AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error {
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.entered)
		<-h.release
		return errors.New("dynamodb: connection refused")
	}
	return h.Store.AddCounts(ctx, w, p)
}

// The calls of a counter write under way still show as buffered: a store that is slow or down (a
// write in flight nearly all the time) showed 0 buffered while counts waited to be written.
func TestStatsCountTheCallsOfAWriteUnderWay(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	put(t, s, circuit.Circuit{ID: "slow", State: circuit.Closed, Since: clk.Now().Add(-time.Hour)})
	h := &heldAdds{Store: s, entered: make(chan struct{}), release: make(chan struct{})}
	b := newEnv(t, h, s, 0, circuit.DefaultPolicy(), on(clk))
	b.Report(ctxT(t), "slow", []Outcome{{OK: false, Latency: 5 * time.Millisecond}, {OK: true, Latency: 5 * time.Millisecond}})
	done := make(chan error, 1)
	go func() { done <- b.Flush(ctxT(t)) }()
	<-h.entered
	if n := b.Stats().OutcomesBuffered; n != 2 {
		t.Errorf("%d calls buffered while their write is under way, want 2", n)
	}
	close(h.release)
	if err := <-done; err == nil {
		t.Fatal("the held write did not fail")
	}
	if n := b.Stats().OutcomesBuffered; n != 2 {
		t.Errorf("%d calls buffered once their write failed, want the 2 kept", n)
	}
	if err := b.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().OutcomesBuffered; n != 0 {
		t.Errorf("%d calls buffered once written, want 0", n)
	}
}

// A probe outcome whose permit the HALF_OPEN circuit does not hold (reported twice, after its
// lease, or never given) is no trial, and the breaker says so rather than let the circuit stay
// HALF_OPEN without a word.
func TestVoidPermitIsLogged(t *testing.T) {
	s := newStore(t)
	clk := newClock()
	put(t, s, circuit.Circuit{ID: "inv", State: circuit.HalfOpen, Since: clk.Now(), OpenCount: 1})
	var logs testkit.SyncBuffer
	b := newEnv(t, s, s, 0, circuit.DefaultPolicy(), on(clk), func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	d := b.Acquire(ctxT(t), "inv")
	if d.Permit == "" {
		t.Fatalf("acquire %+v, want a permit", d)
	}
	b.Report(ctxT(t), "inv", []Outcome{{OK: true, Latency: 20 * time.Millisecond, Permit: d.Permit}})
	if strings.Contains(logs.String(), "permit is void") {
		t.Fatalf("a held permit logged as void:\n%s", logs.String())
	}
	for _, permit := range []string{d.Permit, "FORGED"} { // reported twice; never given
		b.Report(ctxT(t), "inv", []Outcome{{OK: true, Latency: 20 * time.Millisecond, Permit: permit}})
	}
	if n := strings.Count(logs.String(), "permit is void"); n != 2 {
		t.Fatalf("%d void permits logged, want 2:\n%s", n, logs.String())
	}
	if c := stored(t, s, "inv"); c.State != circuit.HalfOpen || c.ProbeSuccesses != 1 {
		t.Fatalf("stored %+v, want HALF_OPEN with the one trial", c)
	}
}
