package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/extensionsapi"
	"github.com/breakerbox/breakerbox/internal/telemetryapi"
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

// fakeFlusher records flushes and the deadline of the last full one.
type fakeFlusher struct {
	mu       sync.Mutex
	full     int
	ifDue    int
	deadline time.Time
	delay    time.Duration
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

func (f *fakeFlusher) FlushIfDue(context.Context) error {
	f.mu.Lock()
	f.ifDue++
	f.mu.Unlock()
	return nil
}

func (f *fakeFlusher) counts() (int, int, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full, f.ifDue, f.deadline
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
	full, ifDue, d := f.counts()
	if ifDue != 2 || full != 1 {
		t.Errorf("flushes: %d if due, %d full; want 2 (one per INVOKE) and 1 (SHUTDOWN)", ifDue, full)
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

// fakeWaiter answers WaitRuntimeDone from a channel per request id, or waits for the context.
type fakeWaiter struct {
	mu      sync.Mutex
	release map[string]chan struct{}
	calls   []string
}

func (w *fakeWaiter) WaitRuntimeDone(ctx context.Context, id string) (telemetryapi.RuntimeDone, error) {
	w.mu.Lock()
	w.calls = append(w.calls, id)
	ch := w.release[id]
	w.mu.Unlock()
	select {
	case <-ch: // nil for an id with no channel: never
		return telemetryapi.RuntimeDone{RequestID: id, Status: "success"}, nil
	case <-ctx.Done():
		return telemetryapi.RuntimeDone{}, ctx.Err()
	}
}

func (w *fakeWaiter) calledWith() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// Default model: the extension registers for INVOKE and SHUTDOWN; on INVOKE it waits for the
// runtime's answer, flushes everything, and only then asks for the next event.
func TestInvokeWaitsForTheRuntimeThenFlushesBeforeNext(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 2)}
	f := &fakeFlusher{}
	w := &fakeWaiter{release: map[string]chan struct{}{"r1": make(chan struct{})}}
	var fullAtNext []int
	api.onNext = func() { full, _, _ := f.counts(); fullAtNext = append(fullAtNext, full) }
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r1", DeadlineMs: time.Now().Add(time.Hour).UnixMilli()}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: time.Hour,
			Subscribe: func(context.Context) (Waiter, error) { return w, nil }}, nil)
	}()
	deadline := time.Now().Add(time.Minute)
	for len(w.calledWith()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the loop never waited for the runtime's answer")
		}
		time.Sleep(time.Millisecond)
	}
	if full, _, _ := f.counts(); full != 0 {
		t.Fatalf("flushed %d times before the runtime answered", full)
	}
	close(w.release["r1"])
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(fullAtNext) != 2 || fullAtNext[0] != 0 || fullAtNext[1] != 1 {
		t.Errorf("full flushes seen at each /event/next: %v, want [0 1] (the flush after r1 came before the next call)", fullAtNext)
	}
	if len(api.subscribed) != 2 {
		t.Errorf("registered for %v, want INVOKE and SHUTDOWN", api.subscribed)
	}
}

// A runtimeDone that never comes costs the wait until the invocation's deadline (plus a grace),
// then the outcomes are flushed anyway; after maxMisses in a row the loop stops waiting.
func TestMissingRuntimeDoneNeverWedges(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 5)}
	f := &fakeFlusher{}
	w := &fakeWaiter{}
	past := time.Now().Add(-runtimeDoneGrace - time.Second).UnixMilli() // the wait is over at once
	for _, id := range []string{"r1", "r2", "r3"} {
		api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: id, DeadlineMs: past}
	}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	err := Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: time.Hour,
		Subscribe: func(context.Context) (Waiter, error) { return w, nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, ifDue, _ := f.counts()
	if calls := w.calledWith(); len(calls) != maxMisses || full != maxMisses+1 || ifDue != 1 {
		t.Errorf("waits %v, full flushes %d, if-due flushes %d; want %d waits, a flush after each plus SHUTDOWN's, then flush-if-due", calls, full, ifDue, maxMisses)
	}
}

// A failed subscription falls back to flushing when due.
func TestFailedSubscriptionFallsBack(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 2)}
	f := &fakeFlusher{}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r1"}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	err := Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: time.Hour,
		Subscribe: func(context.Context) (Waiter, error) { return nil, errors.New("404 page not found") }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full, ifDue, _ := f.counts(); full != 1 || ifDue != 1 {
		t.Errorf("full %d, if due %d; want 1 (SHUTDOWN) and 1 (INVOKE)", full, ifDue)
	}
}

// Lambda Managed Instances: register for SHUTDOWN only, never subscribe, flush on the clock.
func TestManagedInstancesRegisterForShutdownOnly(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 1)}
	f := &fakeFlusher{}
	subscribed := false
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), api, f, Options{Name: "breakerbox", ManagedInstances: true, FlushInterval: 10 * time.Millisecond,
			Subscribe: func(context.Context) (Waiter, error) { subscribed = true; return nil, nil }}, nil)
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, ifDue, _ := f.counts(); ifDue >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no flush on the clock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(api.subscribed) != 1 || api.subscribed[0] != extensionsapi.Shutdown || subscribed {
		t.Errorf("registered for %v (telemetry subscribed: %v), want SHUTDOWN only and no subscription", api.subscribed, subscribed)
	}
	if full, _, _ := f.counts(); full != 1 {
		t.Errorf("SHUTDOWN flushes: %d, want 1", full)
	}
}
