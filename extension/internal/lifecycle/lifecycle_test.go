package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/extensionsapi"
)

// fakeAPI hands out queued events.
type fakeAPI struct {
	registerErr error
	registered  atomic.Bool
	events      chan extensionsapi.Event
	nextErr     error
	subscribed  []extensionsapi.EventType
	// onNext, when set, runs at every Next call, before an event is handed out.
	onNext func()
}

func (f *fakeAPI) Register(_ context.Context, name string, events ...extensionsapi.EventType) (extensionsapi.RegisterResponse, error) {
	if f.registerErr != nil {
		return extensionsapi.RegisterResponse{}, f.registerErr
	}
	if name != "breakerbox" || len(events) == 0 {
		return extensionsapi.RegisterResponse{}, errors.New("bad register")
	}
	f.subscribed = events
	f.registered.Store(true)
	return extensionsapi.RegisterResponse{FunctionName: "orders"}, nil
}

func (f *fakeAPI) Next(ctx context.Context) (extensionsapi.Event, error) {
	if f.onNext != nil {
		f.onNext()
	}
	select {
	case ev, ok := <-f.events:
		if !ok {
			return extensionsapi.Event{}, f.nextErr
		}
		return ev, nil
	case <-ctx.Done():
		return extensionsapi.Event{}, ctx.Err()
	}
}

// fakeFlusher records flushes and the deadline of the last full one, and of each FlushIfDue.
type fakeFlusher struct {
	mu         sync.Mutex
	full       int
	ifDue      int
	deadline   time.Time
	delay      time.Duration
	dueCtxEnds []time.Time
	// blockIfDue, when set, holds every FlushIfDue until it is closed or its context ends.
	blockIfDue chan struct{}
	// invoked counts Invoked calls.
	invoked int
}

func (f *fakeFlusher) Invoked() {
	f.mu.Lock()
	f.invoked++
	f.mu.Unlock()
}

func (f *fakeFlusher) Flush(ctx context.Context) error {
	d, _ := ctx.Deadline()
	f.mu.Lock()
	f.full++
	f.deadline = d
	f.mu.Unlock()
	select {
	case <-time.After(f.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeFlusher) FlushIfDue(ctx context.Context) error {
	d, _ := ctx.Deadline()
	f.mu.Lock()
	f.ifDue++
	f.dueCtxEnds = append(f.dueCtxEnds, d)
	block := f.blockIfDue
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (f *fakeFlusher) counts() (int, int, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full, f.ifDue, f.deadline
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInvokesFlushIfDueAndShutdownFlushesBeforeTheDeadline(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 4)}
	f := &fakeFlusher{}
	deadline := time.Now().Add(2 * time.Second)
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r1"}
	api.events <- extensionsapi.Event{EventType: "SOMETHING_NEW"}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r2"}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, ShutdownReason: "spindown", DeadlineMs: deadline.UnixMilli()}
	var closed atomic.Bool
	var gotReg extensionsapi.RegisterResponse
	err := Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: time.Hour,
		OnShutdown: func(context.Context) { closed.Store(true) }}, func(r extensionsapi.RegisterResponse) { gotReg = r })
	if err != nil {
		t.Fatal(err)
	}
	full, _, d := f.counts()
	if full != 1 {
		t.Errorf("full flushes: %d, want 1 (SHUTDOWN)", full)
	}
	// The breaker is told of each INVOKE: its flush then leaves to the invocation's reports what
	// they will carry.
	f.mu.Lock()
	invoked := f.invoked
	f.mu.Unlock()
	if invoked != 2 {
		t.Errorf("Invoked %d times, want 2 (one per INVOKE)", invoked)
	}
	if !d.Before(time.UnixMilli(deadline.UnixMilli())) || d.Before(deadline.Add(-time.Second)) {
		t.Errorf("final flush deadline %v, want a little before %v", d, deadline)
	}
	if !closed.Load() || gotReg.FunctionName != "orders" {
		t.Errorf("OnShutdown ran %v, registration seen %+v", closed.Load(), gotReg)
	}
}

// A SHUTDOWN whose flush would overrun is cut at the deadline: Run returns in time.
func TestShutdownStaysWithinTheDeadline(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 1)}
	f := &fakeFlusher{delay: time.Minute}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, ShutdownReason: "timeout", DeadlineMs: time.Now().Add(300 * time.Millisecond).UnixMilli()}
	start := time.Now()
	if err := Run(context.Background(), api, f, Options{Name: "breakerbox"}, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Run took %s after a SHUTDOWN with 300ms left", el)
	}
}

func TestBackgroundFlusherRuns(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 1)}
	f := &fakeFlusher{}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: 10 * time.Millisecond}, nil)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ifDue, _ := f.counts(); ifDue >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background flusher did not run")
		}
		time.Sleep(5 * time.Millisecond)
	}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	boom := errors.New("connection refused")
	if err := Run(context.Background(), &fakeAPI{registerErr: boom}, &fakeFlusher{}, Options{Name: "breakerbox"}, nil); !errors.Is(err, boom) {
		t.Errorf("register failure: %v", err)
	}
	api := &fakeAPI{events: make(chan extensionsapi.Event), nextErr: boom}
	close(api.events)
	if err := Run(context.Background(), api, &fakeFlusher{}, Options{Name: "breakerbox"}, nil); !errors.Is(err, boom) {
		t.Errorf("next failure: %v", err)
	}
}

// A failed /event/next (the Runtime API gone, or an error answer) ends Run with an error, after a
// final flush bounded by the grace: what the extension holds is not lost with the process.
func TestNextFailureFlushesFirst(t *testing.T) {
	boom := errors.New("connection refused")
	api := &fakeAPI{events: make(chan extensionsapi.Event), nextErr: boom}
	close(api.events)
	f := &fakeFlusher{delay: time.Hour}
	if err := Run(context.Background(), api, f, Options{Name: "breakerbox"}, nil); !errors.Is(err, boom) {
		t.Fatalf("next failure: %v", err)
	}
	full, _, d := f.counts()
	if full != 1 {
		t.Errorf("full flushes = %d, want 1", full)
	}
	// Bounded by the grace from when Run stopped, however long the machine took to get there.
	if end := time.Now(); d.IsZero() || d.After(end.Add(signalGrace)) {
		t.Errorf("final flush bounded at %v, want by %v (the grace after Run returned)", d, end.Add(signalGrace))
	}
}

// A signal (ctx ending) still flushes before Run returns.
func TestSignalFlushes(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event)}
	f := &fakeFlusher{}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := Run(ctx, api, f, Options{Name: "breakerbox"}, nil); err != nil {
		t.Fatal(err)
	}
	if full, _, _ := f.counts(); full != 1 {
		t.Errorf("full flushes = %d, want 1", full)
	}
}

// Default model: on INVOKE the loop asks for the next event at once, however long a flush takes:
// the extension holds nothing after the runtime's answer. The flush an INVOKE asks for runs beside
// it, bounded by the invocation's deadline less the margin, and the deadline is shared.
func TestInvokeAsksForTheNextEventAtOnce(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 2)}
	release := make(chan struct{})
	f := &fakeFlusher{blockIfDue: release}
	var nexts atomic.Int32
	api.onNext = func() { nexts.Add(1) }
	invDeadline := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r1", DeadlineMs: invDeadline.UnixMilli()}
	var dl Deadline
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: time.Hour, Deadline: &dl}, nil)
	}()
	waitFor(t, "the flush asked for by INVOKE", func() bool { _, ifDue, _ := f.counts(); return ifDue >= 1 })
	waitFor(t, "the next /event/next", func() bool { return nexts.Load() >= 2 })
	if _, ifDue, _ := f.counts(); ifDue != 1 {
		t.Fatalf("%d flushes if due, want the one INVOKE asked for (still running)", ifDue)
	}
	if !dl.Get().Equal(invDeadline) {
		t.Errorf("shared deadline %v, want the INVOKE's %v", dl.Get(), invDeadline)
	}
	f.mu.Lock()
	end := f.dueCtxEnds[0]
	f.mu.Unlock()
	if !end.Equal(invDeadline.Add(-Margin)) {
		t.Errorf("the flush on INVOKE is bounded by %v, want the deadline less the margin, %v", end, invDeadline.Add(-Margin))
	}
	close(release)
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(api.subscribed) != 2 {
		t.Errorf("registered for %v, want INVOKE and SHUTDOWN", api.subscribed)
	}
}

func TestDeadlineBound(t *testing.T) {
	var d Deadline
	ctx := context.Background()
	if c, cancel := d.Bound(ctx); c != ctx {
		t.Error("no deadline recorded: the context was bounded")
	} else {
		cancel()
	}
	ahead := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	d.Set(ahead)
	c, cancel := d.Bound(ctx)
	if end, ok := c.Deadline(); !ok || !end.Equal(ahead.Add(-Margin)) {
		t.Errorf("bound %v, want %v", end, ahead.Add(-Margin))
	}
	cancel()
	d.Set(time.Now().Add(Margin / 2))
	c, cancel = d.Bound(ctx)
	if c.Err() == nil {
		t.Error("less than the margin left: the context is not over")
	}
	cancel()
	d.Set(time.Now().Add(-time.Second))
	if c, cancel := d.Bound(ctx); c != ctx {
		t.Error("the invocation is over: the context was bounded")
	} else {
		cancel()
	}
	var none *Deadline
	if c, cancel := none.Bound(ctx); c != ctx {
		t.Error("nil Deadline bounded the context")
	} else {
		cancel()
	}
}
